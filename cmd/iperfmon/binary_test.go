package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/plugins/parsers/influx"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/internal/stockiperf"
	"github.com/iperfmon/iperfmon/internal/testenv"
)

// binPath is the iperfmon binary, built once by TestMain as it ships
// (static, CGO_ENABLED=0).
var binPath string

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		// Fuzzing (scripts/test.sh runs -run '^$'): no binary needed, and
		// every fuzz worker would build it again.
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "iperfmon-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "iperfmon")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type run struct {
	stdout, stderr string
	code           int
}

// iperfmon runs the binary with a deadline; stdin is empty.
func iperfmon(t *testing.T, env []string, args ...string) run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := run{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	require.NoError(t, ctx.Err(), "iperfmon %v did not finish", args)
	return r
}

func parseInflux(t *testing.T, text string) []telegraf.Metric {
	t.Helper()
	p := &influx.Parser{}
	require.NoError(t, p.Init())
	ms, err := p.Parse([]byte(text))
	require.NoError(t, err, text)
	return ms
}

func deadPort(t *testing.T) string { return strconv.Itoa(stockiperf.FreePort(t)) }

// The client against stock `iperf3 -s` on loopback, in every output form.
func TestClientAgainstStockIperf3(t *testing.T) {
	port := strconv.Itoa(stockiperf.StartServer(t))
	base := []string{"client", "127.0.0.1", "-p", port, "-t", "1"}
	t.Run("text", func(t *testing.T) {
		r := iperfmon(t, nil, base...)
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "Connecting to host 127.0.0.1, port "+port)
		require.Contains(t, r.stdout, " sender\n")
		require.Contains(t, r.stdout, " receiver\n")
		require.True(t, strings.HasSuffix(r.stdout, "iperf Done.\n"), r.stdout)
		require.Empty(t, r.stderr)
	})
	for _, tc := range []struct {
		name       string
		args       []string
		udp, bidir bool
	}{
		{"json tcp", []string{"-J"}, false, false},
		{"json tcp reverse", []string{"-J", "-R"}, false, false},
		{"json tcp bidir", []string{"-J", "--bidir", "-P", "2"}, false, true},
		{"json udp", []string{"-o", "json", "-u", "-b", "10M", "-l", "1400"}, true, false},
		{"json alias -c", []string{"-J"}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string(nil), base...), tc.args...)
			if tc.name == "json alias -c" {
				args = append([]string{"-c", "127.0.0.1", "-p", port, "-t", "1"}, tc.args...)
			}
			r := iperfmon(t, nil, args...)
			require.Equal(t, 0, r.code, r.stderr)
			g, err := stockiperf.ParseGeneric([]byte(r.stdout), tc.udp, !tc.udp, tc.bidir)
			require.NoError(t, err, r.stdout)
			require.Positive(t, *g.End.SumReceived.BitsPerSecond)
		})
	}
	t.Run("influx", func(t *testing.T) {
		r := iperfmon(t, nil, append(base, "-o", "influx", "--bidir")...)
		require.Equal(t, 0, r.code, r.stderr)
		ms := parseInflux(t, r.stdout)
		require.Len(t, ms, 2)
		for _, m := range ms {
			require.Equal(t, "iperf3", m.Name())
			require.Equal(t, "success", m.Tags()["result"])
			bps, ok := m.GetField("bits_per_second")
			require.True(t, ok)
			require.Positive(t, bps.(float64))
		}
	})
	t.Run("prometheus", func(t *testing.T) {
		r := iperfmon(t, nil, append(base, "-o", "prometheus", "-R")...)
		require.Equal(t, 0, r.code, r.stderr)
		parser := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := parser.TextToMetricFamilies(strings.NewReader(r.stdout))
		require.NoError(t, err, r.stdout)
		require.Contains(t, fams, "iperf3_received_bytes_per_second")
		rc := fams["iperf3_result_code"]
		require.NotNil(t, rc, r.stdout)
		require.Zero(t, rc.Metric[0].Gauge.GetValue())
	})
}

// A failed test exits 1 and still prints its failure in every form.
func TestClientFailure(t *testing.T) {
	base := []string{"-c", "127.0.0.1", "-p", deadPort(t), "-t", "1", "--connect-timeout", "2s"}
	r := iperfmon(t, nil, base...)
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "E! ")
	require.Contains(t, r.stderr, "result=connection_failed")

	r = iperfmon(t, nil, append(base, "-o", "influx")...)
	require.Equal(t, 1, r.code)
	ms := parseInflux(t, r.stdout)
	require.Len(t, ms, 1)
	require.Equal(t, "connection_failed", ms[0].Tags()["result"])
	code, _ := ms[0].GetField("result_code")
	require.Equal(t, int64(1), code)

	r = iperfmon(t, nil, append(base, "-o", "prometheus")...)
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stdout, `iperf3_result_code{`)
	require.Contains(t, r.stdout, `result="connection_failed"`)

	r = iperfmon(t, nil, append(base, "-J")...)
	require.Equal(t, 1, r.code)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc), r.stdout)
	require.Contains(t, doc["error"], "connection")

	r = iperfmon(t, nil, "-c", "127.0.0.1", "-P", "500")
	require.Equal(t, 2, r.code)
	require.Equal(t, "E! iperfmon client: -P/--parallel: invalid number \"500\": allowed an integer from 1 to 128 (see iperfmon client --help)\n", r.stderr)
}

// check probes latency by default (client does not) and judges it against
// stock iperf3 on loopback: tens of milliseconds of margin pass, and the
// perfdata carries the figures.
func TestLatencyBinary(t *testing.T) {
	if c, err := net.ListenPacket("ip4:icmp", "127.0.0.1"); err != nil {
		testenv.Unavailable(t, "no raw ICMP socket for the latency probe (needs root or CAP_NET_RAW): %v", err)
	} else {
		c.Close()
	}
	port := strconv.Itoa(stockiperf.StartServer(t))
	r := iperfmon(t, nil, "check", "127.0.0.1", "-p", port, "-t", "1", "--max-loaded-rtt", "500ms", "--max-rtt-increase", "400ms")
	require.Equal(t, nagiosOK, r.code, "stdout %q stderr %q", r.stdout, r.stderr)
	require.Regexp(t, `, loaded RTT [0-9.]+ ms \| .* idle_rtt_ms=[0-9.]+;;;0; loaded_rtt_ms=[0-9.]+;;500;0; rtt_increase_ms=-?[0-9.]+;;400;;\n$`, r.stdout)

	r = iperfmon(t, nil, "client", "127.0.0.1", "-p", port, "-t", "1", "-J")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.NotContains(t, r.stdout, `"iperfmon"`, "the plain client probes only with --latency")
	r = iperfmon(t, nil, "client", "127.0.0.1", "-p", port, "-t", "1", "--latency", "-J")
	require.Equal(t, exitOK, r.code, r.stderr)
	var doc struct {
		Iperfmon struct {
			Latency struct {
				Method        string   `json:"method"`
				IdleRTTMs     *float64 `json:"idle_rtt_ms"`
				LoadedRTTMs   *float64 `json:"loaded_rtt_ms"`
				RTTIncreaseMs *float64 `json:"rtt_increase_ms"`
			} `json:"latency"`
		} `json:"iperfmon"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc))
	l := doc.Iperfmon.Latency
	require.Equal(t, "icmp-raw", l.Method)
	require.NotNil(t, l.IdleRTTMs)
	require.NotNil(t, l.LoadedRTTMs)
	require.NotNil(t, l.RTTIncreaseMs)
	r = iperfmon(t, nil, "client", "127.0.0.1", "-p", port, "-t", "1", "--latency")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Regexp(t, `\nLatency \(ICMP echo, 10/s\): idle [0-9.]+ ms \(5/5 replies\), loaded [0-9.]+ ms`, r.stdout)
	r = iperfmon(t, nil, "client", "127.0.0.1", "-p", port, "-t", "1", "--latency", "-o", "prometheus")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Regexp(t, `(?m)^iperf3_loaded_rtt_seconds\{.*\} [0-9.e-]+$`, r.stdout)
	require.Regexp(t, `(?m)^iperf3_idle_rtt_seconds\{.*\} [0-9.e-]+$`, r.stdout)
}

func TestCheckExitCodes(t *testing.T) {
	port := strconv.Itoa(stockiperf.StartServer(t))
	base := []string{"check", "127.0.0.1", "-p", port, "-t", "1"}
	tests := []struct {
		name string
		args []string
		code int
		line string // prefix of the summary line
	}{
		{"ok", append(base, "--min-bitrate", "1M"), nagiosOK, "IPERF3 OK - 127.0.0.1:" + port + " tcp forward "},
		{"too high", append(base, "--min-bitrate", "100T"), nagiosCritical, "IPERF3 CRITICAL - "},
		{"warning", append(base, "--min-bitrate", "1M", "--warn-bitrate", "100T"), nagiosWarning, "IPERF3 WARNING - "},
		{"udp", append(base, "-u", "-b", "10M", "--min-bitrate", "1M", "--max-loss", "50%", "--max-jitter", "100ms"), nagiosOK, "IPERF3 OK - "},
		{"dead port", []string{"check", "127.0.0.1", "-p", deadPort(t), "-t", "1", "--min-bitrate", "1M"}, nagiosCritical,
			"IPERF3 CRITICAL - 127.0.0.1:"},
		{"bad usage", []string{"check", "127.0.0.1"}, nagiosUnknown, "IPERF3 UNKNOWN - bad usage: no threshold given"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := iperfmon(t, nil, tc.args...)
			require.Equal(t, tc.code, r.code, "stdout %q stderr %q", r.stdout, r.stderr)
			require.Equal(t, 1, strings.Count(r.stdout, "\n"), "one line: %q", r.stdout)
			require.True(t, strings.HasPrefix(r.stdout, tc.line), r.stdout)
			if tc.code != nagiosUnknown {
				require.Contains(t, r.stdout, " | ")
			}
			require.Empty(t, r.stderr)
		})
	}
}

// A baseline seeded with far higher results flags the run as a regression.
func TestCheckBaselineRegression(t *testing.T) {
	port := strconv.Itoa(stockiperf.StartServer(t))
	path := filepath.Join(t.TempDir(), "baseline.json")
	seed := baselineData{Version: baselineVersion, Series: map[string][]baselineSample{}}
	for range 5 {
		seed.Series["127.0.0.1:"+port+"/tcp/forward"] = append(seed.Series["127.0.0.1:"+port+"/tcp/forward"],
			baselineSample{Time: time.Now().Add(-time.Hour), BitsPerSecond: 1e15})
	}
	raw, err := json.Marshal(seed)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, raw, 0o644))

	r := iperfmon(t, nil, "check", "127.0.0.1", "-p", port, "-t", "1", "--min-bitrate", "1M",
		"--baseline-file", path, "--max-drop", "20%")
	require.Equal(t, nagiosWarning, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "below the baseline 1000 Tbits/sec (median of the last 5 runs)")
	require.Contains(t, r.stdout, "baseline_bits_per_second=1000000000000000;")
	d, err := readBaseline(path)
	require.NoError(t, err)
	require.Len(t, d.Series["127.0.0.1:"+port+"/tcp/forward"], 6, "the run is recorded")
}

// A busy server is UNKNOWN without retries, and measured once it is free
// with them.
func TestCheckBusyServer(t *testing.T) {
	port := stockiperf.StartServer(t)
	busy := func() *exec.Cmd { // holds the one-test stock server for 3 s
		c := exec.Command(testenv.RequireTool(t, "iperf3"), "-c", "127.0.0.1", "-p", strconv.Itoa(port), "-t", "3", "--forceflush")
		out, err := c.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, c.Start())
		t.Cleanup(func() { _ = c.Process.Kill(); _ = c.Wait() })
		// The first interval line: the server is running this test.
		sc := bufio.NewScanner(out)
		for sc.Scan() && !strings.Contains(sc.Text(), "/sec") {
		}
		go func() { _, _ = io.Copy(io.Discard, out) }()
		return c
	}
	args := []string{"check", "127.0.0.1", "-p", strconv.Itoa(port), "-t", "1", "--min-bitrate", "1M"}
	c := busy()
	r := iperfmon(t, nil, append(args, "--busy-retries", "0")...)
	require.Equal(t, nagiosUnknown, r.code, r.stdout)
	require.Contains(t, r.stdout, "(result=server_busy)")
	_ = c.Wait()

	busy()
	r = iperfmon(t, nil, append(args, "--busy-retries", "4", "--busy-backoff", "1s")...)
	require.Equal(t, nagiosOK, r.code, r.stdout)
}
