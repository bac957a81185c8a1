//go:build linux

package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// systemd starts services with stdin on /dev/null (examples/systemd/
// iperfmon-run.service): `iperfmon run` must keep running there, and stop
// cleanly and promptly on SIGTERM (systemctl stop).
func TestRunUnderSystemdStdin(t *testing.T) {
	bin := iperfmonBin(t)
	srv := startIperfmonServer(t)
	conf := exampleIperfmonConfig(t, srv.Addr())

	p := startProc(t, "iperfmon run", bin, "run", "--config", conf) // stdin: /dev/null
	err := waitFor(context.Background(), 60*time.Second, 100*time.Millisecond, func() error {
		if p.exited() {
			return fmt.Errorf("iperfmon run exited (%v) with stdin on /dev/null", p.err)
		}
		if n := strings.Count(p.stdout.String(), "result=success"); n < 4 {
			return fmt.Errorf("%d successful points so far", n)
		}
		return nil
	})
	require.NoError(t, err, "stderr:\n%s", tail(p.stderr.String(), 2000))
	require.False(t, p.exited())

	for _, line := range strings.Split(strings.TrimSpace(p.stdout.String()), "\n") {
		require.True(t, strings.HasPrefix(line, "iperf3,"), "stdout carries only line protocol: %q", line)
	}

	start := time.Now()
	require.NoError(t, syscall.Kill(p.cmd.Process.Pid, syscall.SIGTERM))
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("iperfmon run did not exit within 10 s of SIGTERM")
	}
	var ee *exec.ExitError
	if p.err != nil {
		require.ErrorAs(t, p.err, &ee)
		require.Equal(t, 0, ee.ExitCode(), "exit code after SIGTERM")
	}
	t.Logf("stopped %v after SIGTERM", time.Since(start).Round(time.Millisecond))
}
