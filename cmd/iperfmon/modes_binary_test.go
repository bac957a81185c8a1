//go:build pending

package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/stockiperf"
	"github.com/stretchr/testify/require"
)

// proc is a long-running iperfmon with its stdout lines on a channel.
type proc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // stdout, closed at EOF
	stderr *strings.Builder
	done   chan error
}

func startIperfmon(t *testing.T, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	p := &proc{cmd: cmd, lines: make(chan string, 100), stderr: &strings.Builder{}, done: make(chan error, 1)}
	var err error
	p.stdin, err = cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	errPipe, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	stderrDone := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	go func() {
		b, _ := io.ReadAll(errPipe)
		p.stderr.Write(b)
		close(stderrDone)
	}()
	go func() {
		<-stderrDone
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})
	return p
}

// next returns the next stdout line within d.
func (p *proc) next(t *testing.T, d time.Duration) string {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		require.True(t, ok, "stdout closed; stderr:\n%s", p.stderr)
		return l
	case <-time.After(d):
		t.Fatalf("no output within %v", d)
	}
	return ""
}

// wait returns the exit code within d.
func (p *proc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case err := <-p.done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		require.NoError(t, err)
		return 0
	case <-time.After(d):
		t.Fatalf("did not exit within %v", d)
	}
	return -1
}

// `once` without --config measures an embedded loopback server.
func TestOnceDefaultConfig(t *testing.T) {
	r := iperfmon(t, nil, "once")
	require.Equal(t, 0, r.code, r.stderr)
	ms := parseInflux(t, r.stdout)
	require.Len(t, ms, 2, r.stdout)
	for i, dir := range []string{"forward", "reverse"} {
		require.Equal(t, dir, ms[i].Tags()["direction"])
		require.Equal(t, "success", ms[i].Tags()["result"])
		require.Equal(t, "127.0.0.1", ms[i].Tags()["server"])
	}
	require.Contains(t, r.stderr, "I! no --config: testing an embedded server on 127.0.0.1:")
}

// `once` with a config: exit 1 when a test failed, its point still printed.
func TestOnceConfig(t *testing.T) {
	port := stockiperf.StartServer(t)
	conf := writeConfig(t, `[[inputs.iperf3]]
  servers = ["127.0.0.1:`+strconv.Itoa(port)+`"]
  directions = ["forward"]
  duration = "1s"
[[inputs.iperf3]]
  servers = ["127.0.0.1:`+deadPort(t)+`"]
  protocol = "udp"
  duration = "1s"
`)
	r := iperfmon(t, nil, "once", "--config", conf)
	require.Equal(t, 1, r.code, r.stderr)
	results := map[string]string{}
	for _, m := range parseInflux(t, r.stdout) {
		results[m.Tags()["protocol"]+"/"+m.Tags()["direction"]] = m.Tags()["result"]
	}
	require.Equal(t, map[string]string{"tcp/forward": "success", "udp/forward": "connection_failed", "udp/reverse": "connection_failed"}, results)
}

// `run` writes points as tests finish and exits 0 when stdin closes (execd)
// or on SIGTERM.
func TestRunStopsOnStdinEOFAndSIGTERM(t *testing.T) {
	port := stockiperf.StartServer(t)
	conf := writeConfig(t, `[[inputs.iperf3]]
  servers = ["127.0.0.1:`+strconv.Itoa(port)+`"]
  schedule = "@every 1s"
  directions = ["forward"]
  duration = "1s"
`)
	for _, stop := range []string{"stdin", "SIGTERM"} {
		t.Run(stop, func(t *testing.T) {
			p := startIperfmon(t, "run", "--config", conf)
			for range 2 {
				line := p.next(t, 20*time.Second)
				require.True(t, strings.HasPrefix(line, "iperf3,"), line)
				require.Contains(t, line, "result=success")
			}
			if stop == "stdin" {
				require.NoError(t, p.stdin.Close())
			} else {
				require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
			}
			require.Equal(t, 0, p.wait(t, 15*time.Second), p.stderr.String())
			for _, l := range strings.Split(strings.TrimSpace(p.stderr.String()), "\n") {
				require.Regexp(t, `^[EWID]! `, l)
			}
		})
	}
}

// `server` serves stock iperf3 and iperfmon clients, records each test
// with -o influx and exits 0 on SIGTERM.
func TestServerServesStockClient(t *testing.T) {
	port := strconv.Itoa(stockiperf.FreePort(t))
	p := startIperfmon(t, "-s", "-B", "127.0.0.1", "-p", port, "-o", "influx", "--max-tests", "2", "--allow", "127.0.0.0/8")
	// Wait until it accepts: the stock client retries nothing.
	require.Eventually(t, func() bool {
		c, err := (&net.Dialer{Timeout: time.Second}).DialContext(context.Background(), "tcp", "127.0.0.1:"+port)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}, 10*time.Second, 50*time.Millisecond)
	stock := stockiperf.ClientJSON(t, mustAtoi(t, port), "-t", "1", "-R")
	_, err := stockiperf.ParseGeneric(stock, false, true, false)
	require.NoError(t, err, string(stock))
	line := p.next(t, 10*time.Second)
	ms := parseInflux(t, line)
	require.Len(t, ms, 1)
	require.Equal(t, "reverse", ms[0].Tags()["direction"])
	require.Equal(t, "success", ms[0].Tags()["result"])
	require.Equal(t, "127.0.0.1", ms[0].Tags()["client"])

	r := iperfmon(t, nil, "-c", "127.0.0.1", "-p", port, "-t", "1", "-u", "-b", "10M", "-J")
	require.Equal(t, 0, r.code, r.stderr)
	_, err = stockiperf.ParseGeneric([]byte(r.stdout), true, false, false)
	require.NoError(t, err)
	require.Contains(t, p.next(t, 10*time.Second), "protocol=udp")

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.Equal(t, 0, p.wait(t, 10*time.Second), p.stderr.String())
}

func mustAtoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}
