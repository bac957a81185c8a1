package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/internal/stockiperf"
	"github.com/iperfmon/iperfmon/internal/testenv"
)

// timedLine is one stdout line and when it arrived.
type timedLine struct {
	text string
	at   time.Time
}

// runTimed runs the binary with stdout on a pipe and returns every line
// with its arrival time, and when the process exited.
func runTimed(t *testing.T, args ...string) ([]timedLine, time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return startTimed(ctx, t, args...)()
}

// startTimed starts the binary with stdout on a pipe, read as it comes;
// the function it returns waits for the process to exit and returns every
// line with its arrival time, and when the process exited.
func startTimed(ctx context.Context, t *testing.T, args ...string) func() ([]timedLine, time.Time) {
	t.Helper()
	cmd := exec.CommandContext(ctx, binPath, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var lines []timedLine
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines = append(lines, timedLine{sc.Text(), time.Now()})
		}
	}()
	return func() ([]timedLine, time.Time) {
		t.Helper()
		<-read
		require.NoError(t, cmd.Wait(), "iperfmon %v; stderr:\n%s", args, stderr.String())
		return lines, time.Now()
	}
}

// The client prints each interval as it ends, as iperf3 does, in text and
// --json-stream, through a pipe (no terminal): with -t 3 the first
// interval arrives about 2 s before the process exits.
func TestClientLiveOutput(t *testing.T) {
	cases := []struct {
		name string
		args []string
	}{
		{"text tcp", []string{"-b", "200M"}},
		{"text udp", []string{"-u"}},
		{"text reverse", []string{"-R", "-b", "200M"}},
		{"text tcp -P 2 timestamps", []string{"-P", "2", "-b", "100M", "--timestamps"}},
		{"json-stream tcp", []string{"--json-stream", "-b", "200M"}},
		{"json-stream udp reverse", []string{"--json-stream", "-u", "-R"}},
		{"json-stream-full bidir", []string{"--json-stream", "--json-stream-full-output", "--bidir", "-b", "100M"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // 3 s each; paced, so they share 2 cores
			port := strconv.Itoa(stockiperf.StartServer(t))
			args := append([]string{"-c", "127.0.0.1", "-p", port, "-t", "3"}, tc.args...)
			lines, exited := runTimed(t, args...)
			stream := strings.Contains(tc.name, "json-stream")
			first, intervals := -1, 0
			for i, l := range lines {
				if isIntervalLine(l.text, stream) {
					intervals++
					if first < 0 {
						first = i
					}
				}
			}
			all := joinLines(lines)
			require.GreaterOrEqual(t, first, 0, "no interval in:\n%s", all)
			require.GreaterOrEqual(t, intervals, 3, all)
			early := exited.Sub(lines[first].at)
			require.GreaterOrEqual(t, early, time.Second, "first interval only %v before exit:\n%s", early, all)
			last := lines[len(lines)-1].text
			if !stream {
				require.True(t, strings.HasSuffix(last, "iperf Done."), all)
				return
			}
			if strings.Contains(tc.name, "full") {
				require.True(t, json.Valid([]byte(all[strings.LastIndex(all, "\n{\n")+1:])), "whole document last:\n%s", all)
				return
			}
			require.True(t, strings.HasPrefix(last, `{"event":"end"`), all)
		})
	}
}

// isIntervalLine says whether a line reports one interval: an interval
// event, or a text line with a period that is not a summary.
func isIntervalLine(l string, stream bool) bool {
	if stream {
		var e struct{ Event string }
		return json.Unmarshal([]byte(l), &e) == nil && e.Event == "interval"
	}
	return strings.Contains(l, " sec ") && !strings.Contains(l, "sender") && !strings.Contains(l, "receiver")
}

func joinLines(ls []timedLine) string {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString(l.text + "\n")
	}
	return b.String()
}

// The server prints iperf3's text report of every test (the default of
// -s) and its --json-stream events live too, with -i, -f and --timestamps
// in effect, for a stock client.
func TestServerLiveOutput(t *testing.T) {
	iperf3 := testenv.RequireTool(t, "iperf3")
	cases := []struct {
		name       string
		server     []string
		client     []string
		line       *regexp.Regexp // every text line
		intervals  int            // at least
		summary    string
		jsonStream bool
	}{
		{"text tcp -i -f --timestamps", []string{"-i", "0.5", "-f", "m", "--timestamps=%s "}, []string{"-b", "200M"},
			regexp.MustCompile(`^\d{10} `), 6, "receiver", false},
		{"text udp reverse", nil, []string{"-u", "-R"}, nil, 3, "sender", false},
		{"json-stream tcp", []string{"--json-stream"}, []string{"-b", "200M"}, nil, 3, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			port := strconv.Itoa(stockiperf.FreePort(t))
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			wait := startTimed(ctx, t, append([]string{"-s", "-1", "-B", "127.0.0.1", "-p", port}, tc.server...)...)
			waitListening(t, port)
			client := exec.CommandContext(ctx, iperf3, append([]string{"-c", "127.0.0.1", "-p", port, "-t", "3"}, tc.client...)...)
			b, err := client.CombinedOutput()
			require.NoError(t, err, string(b))
			lines, exited := wait()
			all := joinLines(lines)
			first, intervals := -1, 0
			for i, l := range lines {
				if tc.line != nil {
					require.Regexp(t, tc.line, l.text)
				}
				if isIntervalLine(l.text, tc.jsonStream) {
					intervals++
					if first < 0 {
						first = i
					}
				}
			}
			require.GreaterOrEqual(t, intervals, tc.intervals, all)
			early := exited.Sub(lines[first].at)
			require.GreaterOrEqual(t, early, time.Second, "first interval only %v before exit:\n%s", early, all)
			if tc.jsonStream {
				require.True(t, strings.HasPrefix(lines[0].text, `{"event":"start"`), all)
				require.True(t, strings.HasPrefix(lines[len(lines)-1].text, `{"event":"end"`), all)
				return
			}
			require.Contains(t, all, "Server listening on "+port+" (test #1)")
			require.Contains(t, all, "Accepted connection from 127.0.0.1")
			require.True(t, strings.HasSuffix(lines[len(lines)-1].text, tc.summary), all)
			if tc.line != nil {
				require.Contains(t, lines[first].text, "Mbits/sec", "-f m")
			}
		})
	}
}
