package main

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/stockiperf"
	"github.com/stretchr/testify/require"
)

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
