//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/iperfmon/iperfmon/internal/stockiperf"
)

// -D as iperf3's: the command returns at once, the server runs on in its
// own session with its pid in -I and its report in --logfile, serves a
// stock client, and ends on SIGTERM removing the pid file. A child that
// cannot listen makes the command fail with the child's reason.
func TestServerDaemon(t *testing.T) {
	dir := t.TempDir()
	pidf, logf := filepath.Join(dir, "pid"), filepath.Join(dir, "log")
	port := strconv.Itoa(stockiperf.FreePort(t))
	args := []string{"-s", "-D", "-B", "127.0.0.1", "-p", port, "-I", pidf, "--logfile", logf}
	r := iperfmon(t, nil, args...)
	require.Equal(t, 0, r.code, r.stderr)
	require.Empty(t, r.stdout+r.stderr)
	b, err := os.ReadFile(pidf)
	require.NoError(t, err, "the child writes -I before it reports")
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	sid, err := unix.Getsid(pid)
	require.NoError(t, err)
	require.Equal(t, pid, sid, "the daemon leads its own session")

	stock := stockiperf.ClientJSON(t, mustAtoi(t, port), "-t", "1")
	_, err = stockiperf.ParseGeneric(stock, false, true, false)
	require.NoError(t, err, string(stock))

	again := iperfmon(t, nil, args...)
	require.Equal(t, exitFail, again.code)
	require.Contains(t, again.stderr, "-D/--daemon: listen tcp 127.0.0.1:"+port)
	require.Contains(t, again.stderr, "address already in use")

	require.NoError(t, syscall.Kill(pid, syscall.SIGTERM))
	require.Eventually(t, func() bool { return syscall.Kill(pid, 0) != nil }, 10*time.Second, 20*time.Millisecond, "the daemon ends on SIGTERM")
	require.NoFileExists(t, pidf)
	out, err := os.ReadFile(logf)
	require.NoError(t, err)
	require.Contains(t, string(out), "Accepted connection from 127.0.0.1")
	require.Contains(t, string(out), "receiver")
}
