package main

import (
	"context"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/internal/stockiperf"
	"github.com/iperfmon/iperfmon/measure"
)

// -m against stock iperf3 3.22 in both roles, on loopback: the control
// connection runs over MPTCP (our end logs it with -d) and the test
// passes.
func TestMPTCPAgainstStock(t *testing.T) {
	if err := measure.MPTCPAvailable(); err != nil {
		t.Skipf("skipped: this host has no usable MPTCP: %v", err)
	}
	bin := stockiperf.Binary(t, stockiperf.Latest())
	t.Run("client -m to stock -s -m", func(t *testing.T) {
		srv := stockiperf.Start(t, bin, "127.0.0.1", "-m")
		for _, args := range [][]string{{}, {"-R", "-P", "2"}} {
			r := iperfmon(t, nil, append([]string{"-c", "127.0.0.1", "-p", strconv.Itoa(srv.Port), "-t", "1", "-b", "200M", "-m", "-d"}, args...)...)
			require.Equal(t, 0, r.code, r.stderr)
			require.Contains(t, r.stderr, "data streams over MPTCP")
			require.Contains(t, r.stdout, "receiver")
		}
	})
	t.Run("stock -c -m to server -m", func(t *testing.T) {
		port := strconv.Itoa(stockiperf.FreePort(t))
		p := startIperfmon(t, "-s", "-1", "-B", "127.0.0.1", "-p", port, "-m", "-d")
		waitListening(t, port)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, "-c", "127.0.0.1", "-p", port, "-t", "1", "-b", "200M", "-m").CombinedOutput()
		require.NoError(t, err, string(out))
		require.Equal(t, 0, p.wait(t, 10*time.Second), p.stderr.String())
		require.Contains(t, p.stderr.String(), "data streams over MPTCP")
	})
}
