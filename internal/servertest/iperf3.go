package servertest

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/internal/testenv"
)

// Iperf3Result is one run of the stock client.
type Iperf3Result struct {
	Stdout, Stderr string
	ExitCode       int
	Elapsed        time.Duration
	JSON           *ClientJSON // with -J
}

// Output is stdout and stderr together.
func (r Iperf3Result) Output() string { return r.Stdout + r.Stderr }

// RunIperf3 runs the stock client against ts (host overrides ts.Host when
// set) with args, extra environment and a hard timeout. A missing iperf3
// skips the test, or fails it when CI=true.
func RunIperf3(t testing.TB, ts *Server, host string, env []string, args ...string) Iperf3Result {
	t.Helper()
	wait, _ := StartIperf3(t, ts, host, env, args...)
	return wait()
}

// RunIperf3With is RunIperf3 with the iperf3 binary bin (another version
// than the installed one; see stockiperf.Binary).
func RunIperf3With(t testing.TB, bin string, ts *Server, host string, env []string, args ...string) Iperf3Result {
	t.Helper()
	wait, _ := startIperf3(t, bin, ts, host, env, args...)
	return wait()
}

// StartIperf3 starts the stock client in the background; wait returns its
// result. The process is killed when the test ends.
func StartIperf3(t testing.TB, ts *Server, host string, env []string, args ...string) (wait func() Iperf3Result, cmd *exec.Cmd) {
	t.Helper()
	return startIperf3(t, testenv.RequireTool(t, "iperf3"), ts, host, env, args...)
}

func startIperf3(t testing.TB, bin string, ts *Server, host string, env []string, args ...string) (wait func() Iperf3Result, cmd *exec.Cmd) {
	t.Helper()
	if host == "" {
		host = ts.Host
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	full := append([]string{"-c", host, "-p", strconv.Itoa(ts.Port)}, args...)
	cmd = exec.CommandContext(ctx, bin, full...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	require.NoError(t, cmd.Start())
	var once sync.Once
	var res Iperf3Result
	wait = func() Iperf3Result {
		t.Helper()
		once.Do(func() {
			err := cmd.Wait()
			res = Iperf3Result{Stdout: out.String(), Stderr: errb.String(), Elapsed: time.Since(start)}
			var ee *exec.ExitError
			switch {
			case err == nil:
			case errors.As(err, &ee):
				res.ExitCode = ee.ExitCode()
			default:
				res.ExitCode = -1
				res.Stderr += err.Error()
			}
			if ctx.Err() != nil {
				res.Stderr += "\n(killed: iperf3 " + strings.Join(full, " ") + " hung)"
			}
			cancel()
			for _, a := range args {
				if a == "-J" {
					var cj ClientJSON
					if jerr := json.Unmarshal([]byte(res.Stdout), &cj); jerr == nil {
						res.JSON = &cj
					} else {
						res.Stderr += "\n(bad -J output: " + jerr.Error() + ")"
					}
				}
			}
		})
		return res
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); wait() })
	return wait, cmd
}

type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

// ClientJSON is the part of iperf3 -J output the tests compare.
type ClientJSON struct {
	Error string `json:"error"`
	End   struct {
		SumSent                 *JSONSum          `json:"sum_sent"`
		SumReceived             *JSONSum          `json:"sum_received"`
		SumSentBidirReverse     *JSONSum          `json:"sum_sent_bidir_reverse"`
		SumReceivedBidirReverse *JSONSum          `json:"sum_received_bidir_reverse"`
		Sum                     *JSONSum          `json:"sum"`
		Streams                 []json.RawMessage `json:"streams"`
		CPU                     struct {
			HostTotal   float64 `json:"host_total"`
			RemoteTotal float64 `json:"remote_total"`
		} `json:"cpu_utilization_percent"`
	} `json:"end"`
	ServerOutputText string          `json:"server_output_text"`
	ServerOutputJSON json.RawMessage `json:"server_output_json"`
}

// JSONSum is one of the sums in iperf3's "end".
type JSONSum struct {
	Seconds       float64 `json:"seconds"`
	Bytes         float64 `json:"bytes"`
	BitsPerSecond float64 `json:"bits_per_second"`
	Retransmits   *int64  `json:"retransmits"`
	JitterMs      float64 `json:"jitter_ms"`
	LostPackets   int64   `json:"lost_packets"`
	Packets       int64   `json:"packets"`
	LostPercent   float64 `json:"lost_percent"`
}
