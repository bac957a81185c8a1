//go:build linux

package e2e

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"
)

// iperfmonServer is `iperfmon server` on loopback.
type iperfmonServer struct {
	Port int
	proc *proc
}

// startIperfmonServer starts `iperfmon server` on 127.0.0.1 and waits until
// it accepts connections.
func startIperfmonServer(t testing.TB, extra ...string) *iperfmonServer {
	t.Helper()
	bin := iperfmonBin(t)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := freePorts(t, 1)[0]
		args := append([]string{bin, "server", "--bind", "127.0.0.1", "--port", strconv.Itoa(port)}, extra...)
		p := startProc(t, "iperfmon server", args...)
		s := &iperfmonServer{Port: port, proc: p}
		lastErr = waitFor(context.Background(), 15*time.Second, 50*time.Millisecond, func() error {
			if p.exited() {
				return fmt.Errorf("iperfmon server exited: %v: %s", p.err, tail(p.stderr.String(), 2000))
			}
			c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
			if err != nil {
				return err
			}
			return c.Close()
		})
		if lastErr == nil {
			return s
		}
		p.stop(2 * time.Second)
	}
	t.Fatalf("iperfmon server did not start: %v", lastErr)
	return nil
}

func (s *iperfmonServer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// stop ends the server and waits for it to exit.
func (s *iperfmonServer) stop() { s.proc.stop(5 * time.Second) }
