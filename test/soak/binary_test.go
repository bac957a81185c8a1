package soak

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/stockiperf"
	"github.com/stretchr/testify/require"
)

// soakDuration is how long the binary soak runs: SOAK_DURATION, 75 s by
// default (CI), 20 s with -short.
func soakDuration(t *testing.T) time.Duration {
	if s := os.Getenv("SOAK_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		require.NoError(t, err, "SOAK_DURATION")
		return d
	}
	if testing.Short() {
		return 20 * time.Second
	}
	return 75 * time.Second
}

var skippedRe = regexp.MustCompile(`skipped (\d+) test\(s\)`)

// TestSoakRunBinary runs `iperfmon run` with a 1 s schedule against a
// loopback `iperfmon server` for SOAK_DURATION and checks that neither
// process grows (RSS, descriptors, threads), that every scheduled run
// produced a point or was counted as skipped, that every point is a
// success the server also recorded, and that SIGTERM ends both cleanly.
func TestSoakRunBinary(t *testing.T) {
	d := soakDuration(t)
	port := stockiperf.FreePort(t)
	srv := start(t, nil, "server", "-B", "127.0.0.1", "-p", strconv.Itoa(port), "-o", "influx",
		"--allow", "127.0.0.0/8", "--idle-timeout", "5s")
	waitListening(t, port)

	// 1 s tests every second: runs meet, so some wait for the server and a
	// few are skipped when their slot passes. Both are accounted for.
	conf := filepath.Join(t.TempDir(), "soak.conf")
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(`[[inputs.iperf3]]
  servers = ["127.0.0.1:%d"]
  schedule = "@every 1s"
  directions = ["forward"]
  duration = "1s"
  bitrate = "200M"
  # The probe's 0.4 s idle phase would make each run outlast the 1 s
  # schedule; measure's TestLatencyNoLeak soaks the probe instead.
  latency = false
`, port)), 0o600))
	began := time.Now()
	run := start(t, nil, "run", "--config", conf)
	runUse, srvUse := sample(run.cmd.Process.Pid, time.Second), sample(srv.cmd.Process.Pid, time.Second)

	time.Sleep(d)
	runSamples, srvSamples := runUse.Stop(), srvUse.Stop()
	code, took := run.stop(t, syscall.SIGTERM, 5*time.Second)
	elapsed := time.Since(began)
	require.Equal(t, 0, code, "run exit code; stderr:\n%s", run.stderr.String())
	require.Less(t, took, 3*time.Second, "run took too long to exit on SIGTERM")

	lines := strings.Split(strings.TrimSpace(run.stdout.String()), "\n")
	stderr := run.stderr.String()
	skipped := 0
	for _, m := range skippedRe.FindAllStringSubmatch(stderr, -1) {
		n, _ := strconv.Atoi(m[1])
		skipped += n
	}
	for _, l := range lines {
		require.True(t, strings.HasPrefix(l, "iperf3,"), "not a point: %q", l)
		require.Contains(t, l, "result=success", "failed test in a loopback soak")
	}
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if l != "" && !strings.HasPrefix(l, "I! ") && !skippedRe.MatchString(l) {
			t.Errorf("unexpected log line: %q", l)
		}
	}
	// @every 1s fires once a second from start; the run in flight at
	// SIGTERM and the one waiting for it are cancelled, not measured.
	fired := int(elapsed / time.Second)
	t.Logf("%s: %d points, %d skipped, about %d runs scheduled; exit on SIGTERM in %s",
		elapsed.Round(time.Second), len(lines), skipped, fired, took.Round(time.Millisecond))
	require.GreaterOrEqual(t, len(lines)+skipped, fired-3, "scheduled runs that left no point and no skip count")
	require.LessOrEqual(t, len(lines)+skipped, fired+1)
	// 1 s tests every second leave little room: on a loaded machine many
	// runs are skipped, but a quarter must still be measured.
	require.GreaterOrEqual(t, len(lines), fired/4, "fewer than a quarter of the runs measured")

	requireNoGrowth(t, "iperfmon run", runSamples, 6<<10)
	requireNoGrowth(t, "iperfmon server", srvSamples, 6<<10)

	code, took = srv.stop(t, syscall.SIGTERM, 5*time.Second)
	require.Equal(t, 0, code, "server exit code; stderr:\n%s", srv.stderr.String())
	require.Less(t, took, 3*time.Second)
	// The server recorded every test the client measured (and perhaps the
	// one cancelled at SIGTERM).
	served := strings.Count(srv.stdout.String(), "result=success")
	require.GreaterOrEqual(t, served, len(lines))
	require.LessOrEqual(t, served, len(lines)+2)
}
