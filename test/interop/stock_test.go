package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/testenv"
)

// stockServer is one `iperf3 -s -1 -J` on a free loopback port.
type stockServer struct {
	Port   int
	cmd    *exec.Cmd
	out    testenv.Buffer
	cancel context.CancelFunc
	done   chan struct{}
}

// startStock starts a one-off stock iperf3 server (binary bin) bound to addr (127.0.0.1
// or ::1) and waits until it listens. It is killed when the test ends.
func startStock(t *testing.T, bin, addr string, extra ...string) *stockServer {
	t.Helper()
	v6 := strings.Contains(addr, ":")
	var lastErr string
	for range 3 { // a free port can be taken between the probe and the bind
		s := &stockServer{Port: freePort(t, addr), done: make(chan struct{})}
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		s.cancel = cancel
		args := append([]string{"-s", "-1", "-J", "-B", addr, "-p", strconv.Itoa(s.Port)}, extra...)
		s.cmd = exec.CommandContext(ctx, bin, args...)
		s.cmd.Stdout = &s.out
		s.cmd.Stderr = &s.out
		if err := s.cmd.Start(); err != nil {
			cancel()
			t.Fatalf("start iperf3 -s: %v", err)
		}
		go func() { _ = s.cmd.Wait(); close(s.done) }()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if listening(s.Port, v6) {
				t.Cleanup(func() { cancel(); <-s.done })
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
	t.Fatalf("iperf3 -s did not start: %s", lastErr)
	return nil
}

// freePort returns a port free on addr a moment ago, for TCP and UDP.
func freePort(t *testing.T, addr string) int {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", net.JoinHostPort(addr, strconv.Itoa(port)))
		ln.Close()
		if err == nil {
			pc.Close()
			return port
		}
	}
	t.Fatal("no port free for both TCP and UDP")
	return 0
}

// listening reads /proc/net/tcp{,6} for a listening socket on port. A
// connection probe would count as a test on a one-off server.
func listening(port int, v6 bool) bool {
	f := "/proc/net/tcp"
	if v6 {
		f = "/proc/net/tcp6"
	}
	data, err := os.ReadFile(f)
	if err != nil {
		return false
	}
	suffix := fmt.Sprintf(":%04X", port)
	for _, line := range strings.Split(string(data), "\n") {
		fs := strings.Fields(line)
		if len(fs) > 3 && strings.HasSuffix(fs[1], suffix) && fs[3] == "0A" {
			return true
		}
	}
	return false
}

// stockSum is one summary of iperf3's JSON "end" object.
type stockSum struct {
	Bytes         int64   `json:"bytes"`
	Seconds       float64 `json:"seconds"`
	BitsPerSecond float64 `json:"bits_per_second"`
	Packets       int64   `json:"packets"`
	LostPackets   int64   `json:"lost_packets"`
	Retransmits   int64   `json:"retransmits"`
}

type stockReport struct {
	End   map[string]json.RawMessage `json:"end"`
	Error string                     `json:"error"`
	// threaded: the server runs a thread per stream (3.16+).
	threaded bool
}

// report waits for the one-off server to finish and parses its JSON.
func (s *stockServer) report(t *testing.T) stockReport {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.cancel()
		<-s.done
		t.Fatalf("iperf3 -s -1 did not exit after the test; output:\n%s", s.out.String())
	}
	var r stockReport
	if err := json.Unmarshal(s.out.Bytes(), &r); err != nil {
		t.Fatalf("server JSON: %v\n%s", err, s.out.String())
	}
	if r.Error != "" {
		t.Fatalf("server reported an error: %s", r.Error)
	}
	return r
}

func (r stockReport) sum(t *testing.T, key string) stockSum {
	t.Helper()
	raw, ok := r.End[key]
	if !ok {
		keys := make([]string, 0, len(r.End))
		for k := range r.End {
			keys = append(keys, k)
		}
		t.Fatalf("server JSON has no end.%s (has %v)", key, keys)
	}
	var s stockSum
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("end.%s: %v", key, err)
	}
	return s
}
