package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/telegraf/metric"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/internal/servertest"
	"github.com/iperfmon/iperfmon/internal/testenv"
	"github.com/iperfmon/iperfmon/measure"
)

// newTestExporter loads conf (written to a temp file) into an exporter
// served by httptest; the schedules run until the test ends.
func newTestExporter(t *testing.T, conf string, maxProbes int) (*exporter, *httptest.Server, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "iperfmon.toml")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
	var logs testenv.Buffer
	e := newExporter(path, maxProbes, 500*time.Millisecond, newLogger(&logs, true))
	require.NoError(t, e.reload())
	srv := httptest.NewServer(e.handler(nil))
	t.Cleanup(func() {
		srv.Close()
		e.stop()
		if t.Failed() {
			t.Logf("exporter log:\n%s", logs.String())
		}
	})
	return e, srv, path
}

func get(t *testing.T, u string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

const moduleConf = `
[[inputs.iperf3]]
  alias = "udp"
  protocol = "udp"
  bitrate = "10M"
  duration = "1s"
  directions = ["forward"]
  allowed_targets = ["127.0.0.0/8"]

[[inputs.iperf3]]
  alias = "both"
  duration = "5s"
`

// Bad requests are answered 400 with the reason, before any test runs.
func TestProbeBadRequests(t *testing.T) {
	e, srv, _ := newTestExporter(t, moduleConf, 4)
	cases := []struct {
		query, header, want string
	}{
		{"", "", `parameter "target" is missing`},
		{"target=127.0.0.1&module=nope", "", `unknown module "nope"; allowed "both", "udp", or no module for the built-in defaults`},
		{"target=http://x", "", `target "http://x": a URL, not a host`},
		{"target=a%20b", "", `not a host name or address`},
		{"target=fd00::1", "", `IPv6 addresses need brackets`},
		{"target=127.0.0.1&timeout=5", "", `unknown parameter "timeout"; allowed target, module, port, reverse_mode, udp_mode, bitrate, period`},
		{"target=127.0.0.1&target=127.0.0.2", "", `parameter "target" given 2 times`},
		{"target=127.0.0.1&port=0", "", `port "0": allowed 1..65535`},
		{"target=127.0.0.1:5201&port=5202", "", `name different ports`},
		{"target=192.0.2.1&module=udp", "", `target "192.0.2.1" (port 5201) is not in allowed_targets of module "udp"`},
		{"target=192.0.2.1", "", `is not in allowed_targets of the built-in module`}, // restricted by the only list
		{"target=127.0.0.1&reverse_mode=maybe", "", `reverse_mode "maybe": allowed true or false`},
		{"target=127.0.0.1&udp_mode=2", "", `udp_mode "2": allowed true or false`},
		{"target=127.0.0.1&bitrate=fast", "", `bitrate "fast"`},
		{"target=127.0.0.1&period=1.5s", "", `the built-in module with this probe's parameters: inputs.iperf3: duration = "1.5s": allowed whole seconds`},
		{"target=127.0.0.1&period=9s", "", `(period/duration 9s, omit 0s, plus 1s each) do not fit in the scrape timeout 5s less 500ms (4.5s)`},
		{"target=127.0.0.1&module=both", "10", `2 test(s) of module "both" (period/duration 5s, omit 0s, plus 1s each) do not fit in the scrape timeout 10s less 500ms`},
		{"target=127.0.0.1", "soon", `header X-Prometheus-Scrape-Timeout-Seconds "soon": allowed a positive number of seconds`},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			h := c.header
			if h == "" {
				h = "5"
			}
			code, body := get(t, srv.URL+"/probe?"+c.query, "X-Prometheus-Scrape-Timeout-Seconds", h)
			require.Equal(t, http.StatusBadRequest, code, body)
			require.Contains(t, body, c.want)
		})
	}
	require.Equal(t, float64(len(cases)), testutil.ToFloat64(e.probes.WithLabelValues("bad_request")))
	require.Equal(t, 1, testutil.CollectAndCount(e.probes), "no probe ran a test")
}

// The deadline is the scrape timeout less the offset, capped by the
// module's timeout; without the header the module's timeout alone.
func TestProbeDeadline(t *testing.T) {
	e, _, _ := newTestExporter(t, moduleConf, 4)
	g := e.current()
	cases := []struct {
		query, header string
		want          time.Duration
	}{
		{"target=127.0.0.1&period=2s", "10", 9500 * time.Millisecond},
		{"target=127.0.0.1&period=2s", "", 17 * time.Second},    // duration + 15s
		{"target=127.0.0.1&period=2s", "120", 17 * time.Second}, // capped by the module
		{"target=127.0.0.1&module=udp", "2.5", 2 * time.Second},
		{"target=127.0.0.1&module=both", "", 2 * 20 * time.Second}, // two directions
	}
	for _, c := range cases {
		q, err := url.ParseQuery(c.query)
		require.NoError(t, err)
		h := http.Header{}
		if c.header != "" {
			h.Set("X-Prometheus-Scrape-Timeout-Seconds", c.header)
		}
		req, err := parseProbe(g, q, h, e.offset)
		require.NoError(t, err, c.query)
		require.Equal(t, c.want, req.timeout, c.query+" with "+c.header)
	}
	// iperf3_exporter's parameters reach the test.
	q, _ := url.ParseQuery("target=127.0.0.1&port=5299&reverse_mode=true&udp_mode=true&bitrate=5M&period=2s")
	req, err := parseProbe(g, q, http.Header{}, e.offset)
	require.NoError(t, err)
	require.Len(t, req.targets, 1)
	tt := req.targets[0].Test
	require.Equal(t, 5299, tt.Port)
	require.True(t, tt.Reverse)
	require.Equal(t, measure.UDP, tt.Protocol)
	require.EqualValues(t, 5_000_000, tt.Bitrate)
	require.Equal(t, 2*time.Second, tt.Duration)
}

// A probe against a real in-process server and a dead port: metrics
// families as the renderer makes them, iperf3_up 1 and 0, and promtool
// finds nothing to complain about.
func TestProbeRuns(t *testing.T) {
	ts := servertest.Start(t, &measure.Server{MaxTests: 2}, "127.0.0.1:0")
	_, srv, _ := newTestExporter(t, moduleConf, 4)

	code, body := get(t, srv.URL+"/probe?module=udp&target="+ts.Addr(), "X-Prometheus-Scrape-Timeout-Seconds", "5")
	require.Equal(t, http.StatusOK, code, body)
	labels := fmt.Sprintf(`{bidir="false",direction="forward",port="%d",protocol="udp",result="success",server="127.0.0.1"}`, ts.Port)
	require.Contains(t, body, "iperf3_up"+labels+" 1\n")
	require.Contains(t, body, "iperf3_jitter_seconds"+labels)
	require.Contains(t, body, "iperf3_lost_ratio"+labels)
	require.Contains(t, body, "iperf3_probe_duration_seconds ")
	promtoolCheck(t, body)

	dead := servertest.Start(t, &measure.Server{}, "127.0.0.1:0")
	dead.Cancel()
	<-time.After(100 * time.Millisecond)
	code, body = get(t, srv.URL+"/probe?period=1s&target="+dead.Addr(), "X-Prometheus-Scrape-Timeout-Seconds", "5")
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, fmt.Sprintf(`iperf3_up{bidir="false",direction="forward",port="%d",protocol="tcp",result="connection_failed",server="127.0.0.1"} 0`, dead.Port))
	require.NotContains(t, body, "iperf3_received_bytes", "a failed test has no figures, not zeros")
	promtoolCheck(t, body)
}

// More probes than --max-concurrent-probes in flight: 503.
func TestProbeTooMany(t *testing.T) {
	e, srv, _ := newTestExporter(t, moduleConf, 1)
	e.inflight <- struct{}{} // one probe in flight
	code, body := get(t, srv.URL+"/probe?target=127.0.0.1&period=1s", "X-Prometheus-Scrape-Timeout-Seconds", "5")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, body, "1 probes in flight already (--max-concurrent-probes)")
	<-e.inflight
	require.Equal(t, 1.0, testutil.ToFloat64(e.probes.WithLabelValues("too_many")))
}

// /metrics: the scheduled tables' results through the plugin's scheduler,
// with counters, and nothing promtool objects to.
func TestMetricsScheduled(t *testing.T) {
	ts := servertest.Start(t, &measure.Server{MaxTests: 2}, "127.0.0.1:0")
	e, srv, _ := newTestExporter(t, fmt.Sprintf(`
[[inputs.iperf3]]
  servers = [%q]
  schedule = "@every 1s"
  duration = "1s"
`, ts.Addr()), 4)
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := testutil.GatherAndCount(e.results, "iperf3_up")
		require.NoError(t, err)
		if n == 2 {
			break
		}
		require.True(t, time.Now().Before(deadline), "no results for both directions within 20s")
		time.Sleep(100 * time.Millisecond)
	}
	want := fmt.Sprintf(`# HELP iperf3_up 1 when the last test succeeded, 0 when it failed (the result label says why).
# TYPE iperf3_up gauge
iperf3_up{bidir="false",direction="forward",port="%[1]d",protocol="tcp",result="success",server="127.0.0.1"} 1
iperf3_up{bidir="false",direction="reverse",port="%[1]d",protocol="tcp",result="success",server="127.0.0.1"} 1
`, ts.Port)
	require.NoError(t, testutil.GatherAndCompare(e.results, strings.NewReader(want), "iperf3_up"))
	code, body := get(t, srv.URL+"/metrics")
	require.Equal(t, http.StatusOK, code)
	for _, name := range []string{"iperf3_tests_total{", "iperf3_tests_skipped_total ", "iperf3_received_bytes_per_second{",
		"iperf3_last_test_timestamp_seconds{", `iperfmon_build_info{branch="",goarch=`, `version="devel"} 1`, "go_goroutines ", "process_open_fds ", "iperfmon_config_last_reload_successful 1"} {
		require.Contains(t, body, name)
	}
	promtoolCheck(t, body)
}

// Reload: a server that left the config leaves /metrics; a bad file keeps
// the old config and says why.
func TestReload(t *testing.T) {
	e, srv, path := newTestExporter(t, `
[[inputs.iperf3]]
  servers = ["127.0.0.1:5201", "127.0.0.2:5201"]
  schedule = "@every 1h"
`, 4)
	at := time.Unix(1700000000, 0)
	for _, server := range []string{"127.0.0.1", "127.0.0.2"} {
		tags := map[string]string{"server": server, "port": "5201", "protocol": "tcp", "direction": "forward", "bidir": "false", "result": "success"}
		require.NoError(t, e.results.add(metric.New("iperf3", tags, map[string]any{"result_code": int64(0), "bits_per_second": 8e9}, at)))
	}
	n, err := testutil.GatherAndCount(e.results, "iperf3_up", "iperf3_tests_total")
	require.NoError(t, err)
	require.Equal(t, 4, n)

	require.NoError(t, os.WriteFile(path, []byte("[[inputs.iperf3]]\n  servers = [\"127.0.0.1\"]\n  schedule = \"@every 1h\"\n  alias = \"new\"\n"), 0o600))
	resp, err := http.Post(srv.URL+"/-/reload", "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	want := `# HELP iperf3_up 1 when the last test succeeded, 0 when it failed (the result label says why).
# TYPE iperf3_up gauge
iperf3_up{bidir="false",direction="forward",port="5201",protocol="tcp",result="success",server="127.0.0.1"} 1
`
	require.NoError(t, testutil.GatherAndCompare(e.results, strings.NewReader(want), "iperf3_up"))
	require.Contains(t, e.current().modules, "new")

	old := e.current()
	require.NoError(t, os.WriteFile(path, []byte("[[inputs.iperf3]]\n  servers = [\"127.0.0.1\"]\n  paralel = 2\n"), 0o600))
	resp, err = http.Post(srv.URL+"/-/reload", "", nil)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	require.Contains(t, string(b), `reload failed, the previous config stays in force: `)
	require.Contains(t, string(b), `paralel = 2: unknown key (did you mean "parallel"?)`)
	require.Same(t, old, e.current())
	require.Zero(t, testutil.ToFloat64(e.reloadOK))

	code, _ := get(t, srv.URL+"/-/reload")
	require.Equal(t, http.StatusMethodNotAllowed, code)
}

// promtoolCheck runs `promtool check metrics` on an exposition.
func promtoolCheck(t *testing.T, text string) {
	t.Helper()
	promtool := testenv.RequireTool(t, "promtool")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Run(), "promtool check metrics:\n%s\non:\n%s", out.String(), text)
}

// Bad flags, config, web config or address: exit 2 with the reason.
func TestExporterUsage(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	require.NoError(t, os.WriteFile(good, []byte("[[inputs.iperf3]]\n  alias = \"x\"\n"), 0o600))
	bad := filepath.Join(dir, "bad.toml")
	require.NoError(t, os.WriteFile(bad, []byte("[[inputs.iperf3]]\n  alias = \"x\"\n[[inputs.iperf3]]\n  alias = \"x\"\n"), 0o600))
	web := filepath.Join(dir, "web.yml")
	require.NoError(t, os.WriteFile(web, []byte("tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /nonexistent.key\n"), 0o600))
	cases := []struct {
		args []string
		want string
	}{
		{nil, "E! iperfmon exporter: --config FILE is required"},
		{[]string{"--config", good, "extra"}, `unexpected arguments ["extra"]`},
		{[]string{"--config", good, "--max-concurrent-probes", "0"}, "--max-concurrent-probes 0: allowed 1..1000"},
		{[]string{"--config", good, "--timeout-offset", "-1s"}, "--timeout-offset -1s: allowed 0s..1m"},
		{[]string{"--config", filepath.Join(dir, "missing.toml")}, "no such file or directory"},
		{[]string{"--config", bad}, `table 2: alias = "x": the same as table 1's; allowed a module name used once`},
		{[]string{"--config", good, "--web.config.file", web}, "--web.config.file " + web + ":"},
		{[]string{"--config", good, "--web.listen-address", "256.0.0.1:1"}, "--web.listen-address 256.0.0.1:1:"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			_, stderr, code := runApp(t, nil, append([]string{"exporter"}, c.args...)...)
			require.Equal(t, exitUsage, code, stderr)
			require.Contains(t, stderr, c.want)
		})
	}
}
