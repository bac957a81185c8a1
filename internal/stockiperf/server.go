package stockiperf

import (
	"context"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/ports"
	"github.com/iperfmon/iperfmon/internal/testenv"
)

// Server is a stock `iperf3 -s` on a free loopback port. It is killed
// when the test ends.
type Server struct {
	Port   int
	out    testenv.Buffer
	cancel context.CancelFunc
	done   chan struct{}
}

// Start runs `bin -s -B addr -p <free port> args...` (addr is 127.0.0.1 or
// ::1) and returns once the server listens. With "-1" it serves one test
// and exits; with "-J" it prints its JSON report then (see Wait).
//
// Readiness is read from /proc/net/tcp{,6}, not from the output or a probe
// connection: a probe would be a one-off server's only test, and with -J
// iperf3 prints nothing until the end.
func Start(tb testing.TB, bin, addr string, args ...string) *Server {
	tb.Helper()
	var lastErr string
	for range 3 { // a free port can be taken between the probe and the bind
		port, err := ports.Free(addr)
		if err != nil {
			tb.Fatal(err)
		}
		s := &Server{Port: port, done: make(chan struct{})}
		ctx, cancel := context.WithCancel(context.Background())
		s.cancel = cancel
		cmd := exec.CommandContext(ctx, bin, append([]string{"-s", "-B", addr, "-p", strconv.Itoa(port)}, args...)...)
		cmd.Stdout, cmd.Stderr = &s.out, &s.out
		if err := cmd.Start(); err != nil {
			cancel()
			tb.Fatalf("start %s -s: %v", bin, err)
		}
		go func() { _ = cmd.Wait(); close(s.done) }()
		deadline := time.Now().Add(10 * time.Second)
		for lastErr = ""; time.Now().Before(deadline); {
			if ports.Listening(port) {
				tb.Cleanup(func() { cancel(); <-s.done })
				return s
			}
			select {
			case <-s.done:
				lastErr = "exited: " + s.out.String()
				deadline = time.Time{}
			case <-time.After(20 * time.Millisecond):
			}
		}
		if lastErr == "" {
			lastErr = "not listening after 10s"
		}
		cancel()
		<-s.done
	}
	tb.Fatalf("iperf3 -s did not start: %s", lastErr)
	return nil
}

// Output is what the server has printed so far, stdout and stderr.
func (s *Server) Output() string { return s.out.String() }

// Wait waits up to limit for the server to exit (a one-off server, -1,
// after its test) and returns its output; it fails the test if the server
// is still running then.
func (s *Server) Wait(tb testing.TB, limit time.Duration) []byte {
	tb.Helper()
	select {
	case <-s.done:
	case <-time.After(limit):
		s.cancel()
		<-s.done
		tb.Fatalf("iperf3 -s -1 did not exit within %s of its test; output:\n%s", limit, s.out.String())
	}
	return s.out.Bytes()
}
