package hostile

import (
	"bytes"
	"context"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/internal/testenv"
)

// TestFakeServerSpeaksIperf3 proves the fake server's normal sequence is
// the real protocol: stock iperf3 completes tests against it. Every hostile
// script is a deviation from this baseline.
func TestFakeServerSpeaksIperf3(t *testing.T) {
	bin := testenv.RequireTool(t, "iperf3")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"tcp", []string{"-t", "1"}},
		{"tcp-reverse-P2", []string{"-t", "1", "-R", "-P", "2"}},
		{"udp", []string{"-u", "-b", "10M", "-l", "1000", "-t", "1"}},
		{"udp-reverse-64", []string{"-u", "-R", "-l", "1000", "-t", "1", "--udp-counters-64bit"}},
		{"tcp-bytes", []string{"-n", "1M"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := startFake(t, func(s *session) { s.all() })
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			args := append([]string{"-c", "127.0.0.1", "-p", strconv.Itoa(f.port), "--connect-timeout", "2000"}, tc.args...)
			cmd := exec.CommandContext(ctx, bin, args...)
			var buf bytes.Buffer
			cmd.Stdout, cmd.Stderr = &buf, &buf
			err := cmd.Run()
			out := buf.Bytes()
			require.NoError(t, err, "iperf3 %v:\n%s", args, out)
			require.Contains(t, string(out), "iperf Done.")
			t.Logf("%s", out)
			f.Close()
		})
	}
}
