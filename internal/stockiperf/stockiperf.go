// Package stockiperf runs the stock iperf3 binary for tests: a server on a
// free loopback port, or a client whose --json output a test compares with
// ours.
package stockiperf

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/testenv"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// StartServer starts `iperf3 -s` on a free loopback port and returns the
// port once the server says it is listening. The server is killed when the
// test ends.
func StartServer(tb testing.TB, extra ...string) int {
	tb.Helper()
	return StartServerWith(tb, testenv.RequireTool(tb, "iperf3"), extra...)
}

// StartServerWith is StartServer with the iperf3 binary bin (see Binary).
func StartServerWith(tb testing.TB, bin string, extra ...string) int {
	tb.Helper()
	var lastErr string
	for range 3 { // the free port can be taken between FreePort and bind
		port := FreePort(tb)
		ctx, cancel := context.WithCancel(context.Background())
		// --forceflush: stdout is a pipe, and the ready line must not sit in a buffer.
		args := append([]string{"-s", "--forceflush", "-B", "127.0.0.1", "-p", strconv.Itoa(port)}, extra...)
		cmd := exec.CommandContext(ctx, bin, args...)
		out, err := cmd.StdoutPipe()
		if err != nil {
			cancel()
			tb.Fatalf("iperf3 -s: %v", err)
		}
		cmd.Stderr = cmd.Stdout
		if err := cmd.Start(); err != nil {
			cancel()
			tb.Fatalf("iperf3 -s: %v", err)
		}
		// ready gets "" once the server listens, or the reason it did not.
		ready := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(out)
			signalled := false
			last := "iperf3 -s exited"
			for sc.Scan() {
				line := sc.Text()
				if !signalled && strings.Contains(line, "Server listening") {
					ready <- ""
					signalled = true
				} else if !signalled && line != "" && !strings.HasPrefix(line, "---") {
					last = line
				}
			}
			if !signalled {
				ready <- last
			}
		}()
		select {
		case msg := <-ready:
			if msg == "" {
				tb.Cleanup(func() { cancel(); _ = cmd.Wait() })
				return port
			}
			lastErr = msg
		case <-time.After(10 * time.Second):
			lastErr = "no 'Server listening' line within 10s"
		}
		cancel()
		_ = cmd.Wait()
	}
	tb.Fatalf("iperf3 -s did not start: %s", lastErr)
	return 0
}

// ClientJSON runs `iperf3 -c 127.0.0.1 -p port -J args...` and returns its
// output.
func ClientJSON(tb testing.TB, port int, args ...string) []byte {
	tb.Helper()
	return ClientJSONWith(tb, testenv.RequireTool(tb, "iperf3"), port, args...)
}

// ClientJSONErr runs `bin -c 127.0.0.1 -p port -J args...` and returns
// its output, or an error with the output's "error" (e.g. a busy server).
func ClientJSONErr(bin string, port int, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	full := append([]string{"-c", "127.0.0.1", "-p", strconv.Itoa(port), "-J"}, args...)
	out, err := exec.CommandContext(ctx, bin, full...).Output()
	if err != nil {
		var doc struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(out, &doc)
		return out, fmt.Errorf("iperf3 %s: %w: %s", strings.Join(full, " "), err, doc.Error)
	}
	return out, nil
}

// ClientJSONWith is ClientJSON with the iperf3 binary bin (see Binary).
func ClientJSONWith(tb testing.TB, bin string, port int, args ...string) []byte {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	full := append([]string{"-c", "127.0.0.1", "-p", strconv.Itoa(port), "-J"}, args...)
	out, err := exec.CommandContext(ctx, bin, full...).Output()
	if err != nil {
		tb.Fatalf("iperf3 %s: %v\n%s", strings.Join(full, " "), err, out)
	}
	return out
}
