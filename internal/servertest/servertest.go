// Package servertest runs measure.Server on a loopback port for tests and
// drives it with stock iperf3 clients or hand-made hostile ones.
package servertest

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/measure"
	"github.com/stretchr/testify/require"
)

// Server is a measure.Server serving on a loopback port for one test.
type Server struct {
	Srv  *measure.Server
	Host string // address clients connect to
	Port int
	Done chan error // Serve's result

	mu      sync.Mutex
	results []measure.ServedTest
	cond    *sync.Cond
	Cancel  context.CancelFunc
}

// Start serves srv on addr ("127.0.0.1:0", "[::1]:0", ":0") until the test
// ends, and then checks that Serve returns ErrServerClosed. Records given to
// OnResult are kept for WaitResults.
func Start(t testing.TB, srv *measure.Server, addr string) *Server {
	t.Helper()
	ln, err := measure.Listen(context.Background(), addr)
	require.NoError(t, err)
	return StartOn(t, srv, ln)
}

// StartOn is Start on a listener the test opened (e.g. ListenMPTCP).
func StartOn(t testing.TB, srv *measure.Server, ln net.Listener) *Server {
	t.Helper()
	ts := &Server{Srv: srv, Done: make(chan error, 1)}
	ts.cond = sync.NewCond(&ts.mu)
	user := srv.OnResult
	srv.OnResult = func(st measure.ServedTest) {
		if user != nil {
			user(st)
		}
		ts.mu.Lock()
		ts.results = append(ts.results, st)
		ts.cond.Broadcast()
		ts.mu.Unlock()
	}
	return serve(t, ts, ln)
}

func serve(t testing.TB, ts *Server, ln net.Listener) *Server {
	t.Helper()
	srv := ts.Srv
	ctx, cancel := context.WithCancel(context.Background())
	ts.Cancel = cancel
	ta := ln.Addr().(*net.TCPAddr)
	ts.Port = ta.Port
	ts.Host = ta.IP.String()
	if ta.IP.IsUnspecified() {
		ts.Host = "127.0.0.1"
	}
	go func() { ts.Done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-ts.Done:
			if !errors.Is(err, measure.ErrServerClosed) && err != nil {
				t.Errorf("Serve returned %v, want ErrServerClosed", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Serve did not return within 10s of cancel")
		}
	})
	return ts
}

// Addr is host:port for clients.
func (ts *Server) Addr() string { return net.JoinHostPort(ts.Host, strconv.Itoa(ts.Port)) }

// WaitResults waits until n records have been reported and returns them all.
func (ts *Server) WaitResults(t testing.TB, n int, timeout time.Duration) []measure.ServedTest {
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
	return append([]measure.ServedTest(nil), ts.results...)
}

// Last returns the newest record once there are at least n.
func (ts *Server) Last(t testing.TB, n int) measure.ServedTest {
	t.Helper()
	r := ts.WaitResults(t, n, 10*time.Second)
	return r[len(r)-1]
}

// WaitActive polls until the server runs n tests.
func (ts *Server) WaitActive(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for ts.Srv.Active() != n {
		require.True(t, time.Now().Before(deadline), "server never had %d active tests (has %d)", n, ts.Srv.Active())
		time.Sleep(5 * time.Millisecond)
	}
}

// Within asserts that got is within pct percent of want.
func Within(t testing.TB, want, got, pct float64, what string) {
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

// Logger logs to the test's output when IPERFMON_TEST_LOG is set, else nil.
func Logger(t testing.TB) *slog.Logger {
	if os.Getenv("IPERFMON_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
