//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/testenv"

	"github.com/stretchr/testify/require"
)

// Nagios plugin exit codes.
const (
	nagiosOK       = 0
	nagiosWarning  = 1
	nagiosCritical = 2
	nagiosUnknown  = 3
)

// runCheck runs `iperfmon check` and returns its stdout+stderr and exit code.
func runCheck(t *testing.T, args ...string) (string, int) {
	t.Helper()
	return runCmd(t, time.Minute, "", nil, append([]string{iperfmonBin(t), "check"}, args...)...)
}

// summaryLine returns check's one summary line (stdout; logs go to stderr
// and are prefixed E!/W!/I!/D!).
func summaryLine(t *testing.T, out string) string {
	t.Helper()
	var lines []string
	for l := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		if l != "" && !strings.HasPrefix(l, "E! ") && !strings.HasPrefix(l, "W! ") &&
			!strings.HasPrefix(l, "I! ") && !strings.HasPrefix(l, "D! ") {
			lines = append(lines, l)
		}
	}
	require.Len(t, lines, 1, "one summary line expected:\n%s", out)
	return lines[0]
}

func TestCheckExitCodes(t *testing.T) {
	srv := startIperfmonServer(t)
	port := strconv.Itoa(srv.Port)
	dead := strconv.Itoa(freePorts(t, 1)[0])
	base := []string{"127.0.0.1", "-p", port, "-t", "1"}

	tests := []struct {
		name string
		args []string
		want []int
	}{
		{"ok", append(base, "--min-bitrate", "1M"), []int{nagiosOK}},
		{"critical below min", append(base, "--min-bitrate", "100T"), []int{nagiosCritical}},
		{"warning below warn", append(base, "--min-bitrate", "1M", "--warn-bitrate", "100T"), []int{nagiosWarning}},
		{"udp ok", append(base, "-u", "-b", "10M", "--min-bitrate", "1M", "--max-loss", "50%"), []int{nagiosOK}},
		// A path that does not work is CRITICAL (busy/denied servers are UNKNOWN).
		{"dead port", []string{"127.0.0.1", "-p", dead, "-t", "1", "--min-bitrate", "1M", "--connect-timeout", "2s"}, []int{nagiosCritical}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, code := runCheck(t, tc.args...)
			require.Contains(t, tc.want, code, "exit code; output:\n%s", out)
			line := summaryLine(t, out)
			if code != nagiosUnknown {
				require.Contains(t, line, "|", "perfdata after |: %s", line)
			}
		})
	}
}

// --baseline-file: stable runs build a baseline; a run at a fraction of it
// (paced with -b) is flagged, and the state file survives corruption.
func TestCheckBaselineRegression(t *testing.T) {
	srv := startIperfmonServer(t)
	state := filepath.Join(t.TempDir(), "baseline.json")
	args := []string{"127.0.0.1", "-p", strconv.Itoa(srv.Port), "-t", "1", "--min-bitrate", "1M",
		"--baseline-file", state, "--max-drop", "20%"}

	for i := range 3 {
		out, code := runCheck(t, args...)
		require.Equal(t, nagiosOK, code, "run %d:\n%s", i, out)
	}
	// Loopback TCP runs at Gbit/s; 20 Mbit/s is far more than 20 % below.
	out, code := runCheck(t, append(args, "-b", "20M")...)
	require.Equal(t, nagiosWarning, code, "a drop below the baseline is a WARNING:\n%s", out)
	require.Contains(t, summaryLine(t, out), "|")

	// A corrupt state file is replaced with a warning, not an UNKNOWN.
	require.NoError(t, os.WriteFile(state, []byte("{not json"), 0o644))
	out, code = runCheck(t, args...)
	require.Equal(t, nagiosOK, code, "after corruption:\n%s", out)
	require.Contains(t, out, "W! ", "the replaced file is reported on stderr")
	summaryLine(t, out)
}

// Checks started together (cron lines at the same minute) share one
// baseline file: none has trouble with it, and no result is lost.
func TestCheckBaselineConcurrent(t *testing.T) {
	const n = 4
	srv := startIperfmonServer(t, "--max-tests", strconv.Itoa(n))
	dir := t.TempDir()
	state := filepath.Join(dir, "baseline.json")
	args := []string{"127.0.0.1", "-p", strconv.Itoa(srv.Port), "-t", "1", "--min-bitrate", "1M",
		"--baseline-file", state}

	t.Run("together", func(t *testing.T) {
		for i := range n {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				out, code := runCheck(t, args...)
				// Whichever check comes last may find the baseline of the
				// others and, sharing the CPU with them, fall below it: a
				// WARNING. Anything else is wrong.
				require.Contains(t, []int{nagiosOK, nagiosWarning}, code, "%s", out)
				require.NotContains(t, out, "W! ", "no baseline trouble")
				require.NotContains(t, out, "result=", "the test itself failed")
			})
		}
	})

	b, err := os.ReadFile(state)
	require.NoError(t, err)
	var data struct {
		Series map[string][]struct {
			BitsPerSecond float64 `json:"bits_per_second"`
		} `json:"series"`
	}
	require.NoError(t, json.Unmarshal(b, &data), "%s", b)
	key := "127.0.0.1:" + strconv.Itoa(srv.Port) + "/tcp/forward"
	require.Len(t, data.Series[key], n, "one sample per check in %s", b)
	for _, s := range data.Series[key] {
		require.Greater(t, s.BitsPerSecond, 1e6)
	}
	// Only the state file and its lock remain: no temp files left behind.
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.ElementsMatch(t, []string{"baseline.json", "baseline.json.lock"}, names)
}

// A real server whose test slots are all taken answers "busy": no
// measurement was possible, so the check is UNKNOWN, not CRITICAL (a dead
// port is CRITICAL, see TestCheckExitCodes).
func TestCheckBusyIsUnknown(t *testing.T) {
	srv := startIperfmonServer(t, "--max-tests", "1")
	port := strconv.Itoa(srv.Port)
	// A 4 s test of stock iperf3 holds the only slot; its first
	// interval line (flushed at once) says the test is running.
	holder := startProc(t, "iperf3 -c", testenv.RequireTool(t, "iperf3"), "-c", "127.0.0.1", "-p", port, "-t", "4", "--forceflush")
	err := waitFor(t.Context(), 30*time.Second, 20*time.Millisecond, func() error {
		if strings.Contains(holder.stdout.String(), "/sec") {
			return nil
		}
		if holder.exited() {
			return fmt.Errorf("the holding client exited: %v\n%s", holder.err, holder.stderr.String())
		}
		return fmt.Errorf("the holding test has not started")
	})
	require.NoError(t, err)
	out, code := runCheck(t, "127.0.0.1", "-p", port, "-t", "1", "--min-bitrate", "1M", "--busy-retries", "0")
	require.Equal(t, nagiosUnknown, code, "%s", out)
	line := summaryLine(t, out)
	require.True(t, strings.HasPrefix(line, "IPERF3 UNKNOWN - "), line)
	require.Contains(t, line, "result=server_busy")
	require.Contains(t, line, "| result_code=3;")
}
