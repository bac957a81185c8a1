package measure

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/stockiperf"
	"github.com/stretchr/testify/require"
)

// testServer is a Server serving on a loopback port for one test.
type testServer struct {
	srv  *Server
	host string // address clients connect to
	port int
	done chan error

	mu      sync.Mutex
	results []ServedTest
	cond    *sync.Cond
	cancel  context.CancelFunc
}

// startServer serves srv on addr ("127.0.0.1:0", "[::1]:0", ":0") until the
// test ends, and checks that Serve then returns ErrServerClosed.
func startServer(t *testing.T, srv *Server, addr string) *testServer {
	t.Helper()
	ts := &testServer{srv: srv, done: make(chan error, 1)}
	ts.cond = sync.NewCond(&ts.mu)
	user := srv.OnResult
	srv.OnResult = func(st ServedTest) {
		if user != nil {
			user(st)
		}
		ts.mu.Lock()
		ts.results = append(ts.results, st)
		ts.cond.Broadcast()
		ts.mu.Unlock()
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts.cancel = cancel
	ln, err := Listen(ctx, addr)
	require.NoError(t, err)
	ta := ln.Addr().(*net.TCPAddr)
	ts.port = ta.Port
	ts.host = ta.IP.String()
	if ta.IP.IsUnspecified() {
		ts.host = "127.0.0.1"
	}
	go func() { ts.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-ts.done:
			if !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve returned %v, want ErrServerClosed", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Serve did not return within 10s of cancel")
		}
	})
	return ts
}

func (ts *testServer) addr() string { return net.JoinHostPort(ts.host, strconv.Itoa(ts.port)) }

// waitResults waits until n records have been reported and returns them.
func (ts *testServer) waitResults(t *testing.T, n int, timeout time.Duration) []ServedTest {
	t.Helper()
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() { ts.mu.Lock(); ts.cond.Broadcast(); ts.mu.Unlock() })
	defer timer.Stop()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for len(ts.results) < n && time.Now().Before(deadline) {
		ts.cond.Wait()
	}
	require.GreaterOrEqual(t, len(ts.results), n, "records reported by OnResult")
	return append([]ServedTest(nil), ts.results...)
}

// last returns the newest record, waiting for at least n.
func (ts *testServer) last(t *testing.T, n int) ServedTest {
	t.Helper()
	r := ts.waitResults(t, n, 10*time.Second)
	return r[len(r)-1]
}

// iperf3Result is a stock client's run.
type iperf3Result struct {
	Stdout, Stderr string
	ExitCode       int
	Elapsed        time.Duration
	JSON           *clientJSON
}

// runIperf3 runs the stock client against ts with args and a hard timeout.
func runIperf3(t *testing.T, ts *testServer, env []string, args ...string) iperf3Result {
	t.Helper()
	bin := stockiperf.RequireTool(t, "iperf3")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	full := append([]string{"-c", ts.host, "-p", strconv.Itoa(ts.port)}, args...)
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := iperf3Result{Stdout: out.String(), Stderr: errb.String(), Elapsed: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.ExitCode = ee.ExitCode()
	default:
		t.Fatalf("iperf3 %s: %v", strings.Join(full, " "), err)
	}
	require.NoError(t, ctx.Err(), "iperf3 %s hung", strings.Join(full, " "))
	for _, a := range args {
		if a == "-J" {
			var cj clientJSON
			require.NoError(t, json.Unmarshal(out.Bytes(), &cj), "iperf3 -J output:\n%s", out.String())
			r.JSON = &cj
		}
	}
	return r
}

// clientJSON is the part of iperf3 -J output the tests compare.
type clientJSON struct {
	Error string `json:"error"`
	End   struct {
		SumSent                 *jsonSum          `json:"sum_sent"`
		SumReceived             *jsonSum          `json:"sum_received"`
		SumSentBidirReverse     *jsonSum          `json:"sum_sent_bidir_reverse"`
		SumReceivedBidirReverse *jsonSum          `json:"sum_received_bidir_reverse"`
		Sum                     *jsonSum          `json:"sum"`
		Streams                 []json.RawMessage `json:"streams"`
		CPU                     struct {
			RemoteTotal float64 `json:"remote_total"`
		} `json:"cpu_utilization_percent"`
	} `json:"end"`
	ServerOutputText string          `json:"server_output_text"`
	ServerOutputJSON json.RawMessage `json:"server_output_json"`
}

type jsonSum struct {
	Seconds       float64 `json:"seconds"`
	Bytes         float64 `json:"bytes"`
	BitsPerSecond float64 `json:"bits_per_second"`
	Retransmits   *int64  `json:"retransmits"`
	JitterMs      float64 `json:"jitter_ms"`
	LostPackets   int64   `json:"lost_packets"`
	Packets       int64   `json:"packets"`
	LostPercent   float64 `json:"lost_percent"`
}

// baseline is the process's goroutines and open descriptors.
type baseline struct{ goroutines, fds int }

func takeBaseline() baseline {
	return baseline{goroutines: runtime.NumGoroutine(), fds: openFDs()}
}

func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// requireBackToBaseline polls until goroutines and descriptors are back to
// b (with a small slack for runtime goroutines).
func requireBackToBaseline(t *testing.T, b baseline, slack int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var g, f int
	for time.Now().Before(deadline) {
		g, f = runtime.NumGoroutine(), openFDs()
		if g <= b.goroutines+slack && f <= b.fds+slack {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	t.Fatalf("not back to baseline: goroutines %d (baseline %d), fds %d (baseline %d)\n%s", g, b.goroutines, f, b.fds, buf[:n])
}

// within asserts that got is within pct percent of want.
func within(t *testing.T, want, got, pct float64, what string) {
	t.Helper()
	if want == 0 && got == 0 {
		return
	}
	diff := 100 * abs(got-want) / max(abs(want), abs(got))
	require.LessOrEqual(t, diff, pct, "%s: client %v, server %v", what, want, got)
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// testLogger logs to the test's output when IPERFMON_TEST_LOG is set.
func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("IPERFMON_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
