// Package stockiperf runs the stock iperf3 binary for tests: a server on a
// free loopback port (Start, the one launcher every suite uses), or a
// client whose --json output a test compares with ours.
package stockiperf

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/ports"
	"github.com/iperfmon/iperfmon/internal/testenv"
)

// FreePort returns a port on 127.0.0.1 that was free a moment ago, for
// TCP and UDP (see ports.Free).
func FreePort(tb testing.TB) int {
	tb.Helper()
	port, err := ports.Free("127.0.0.1")
	if err != nil {
		tb.Fatal(err)
	}
	return port
}

// StartServer starts `iperf3 -s` on a free loopback port and returns the
// port once the server listens. The server is killed when the test ends.
func StartServer(tb testing.TB, extra ...string) int {
	tb.Helper()
	return StartServerWith(tb, testenv.RequireTool(tb, "iperf3"), extra...)
}

// StartServerWith is StartServer with the iperf3 binary bin (see Binary).
func StartServerWith(tb testing.TB, bin string, extra ...string) int {
	tb.Helper()
	return Start(tb, bin, "127.0.0.1", extra...).Port
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
