//go:build linux

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/internal/stockiperf"
)

// e2eBcrypt is the bcrypt hash of e2eSecret (cost 10), as exporter-toolkit's
// basic_auth_users wants it.
const (
	e2eUser   = "prom"
	e2eSecret = "e2e-secret"
	e2eBcrypt = "$2a$10$cMX4vI2XlT3o8UHlLbCKAeOhSmaMov6vugovHyIkhO/0DDBT.LcRC"
)

// A real Prometheus scrapes `iperfmon exporter`: /metrics with the
// scheduled results for an iperfmon server and a stock iperf3 -s, /probe
// through the multi-target relabelling of docs/prometheus.md for both and a
// dead port, and /metrics of a second exporter over TLS with basic auth.
// Then SIGHUP reloads a changed config: a removed server's series leave
// /metrics and a new module answers /probe.
func TestExporterWithPrometheus(t *testing.T) {
	ours := startIperfmonServer(t, "--max-tests", "4")
	stock := stockiperf.StartServer(t)
	dead := freePorts(t, 1)[0]
	ourAddr, stockAddr, deadAddr := ours.Addr(), fmt.Sprintf("127.0.0.1:%d", stock), fmt.Sprintf("127.0.0.1:%d", dead)

	conf := fmt.Sprintf(`
# Short scheduled tests, not too often, leave the servers free for probes
# between them.
[[inputs.iperf3]]
  servers = [%[1]q]
  schedule = "@every 8s"
  duration = "1s"
  latency = false

[[inputs.iperf3]]
  servers = [%[2]q]
  schedule = "@every 8s"
  duration = "1s"
  latency = false

# Stock iperf3 answers "busy" for a moment after each test: retry soon.
# No latency probe: each probe's two tests then fit between scheduled ones.
[[inputs.iperf3]]
  alias = "quick"
  duration = "1s"
  busy_backoff = "250ms"
  latency = false
  allowed_targets = ["127.0.0.0/8"]
`, ourAddr, stockAddr)
	exp := startExporter(t, conf)

	// The second exporter: TLS and basic auth from a web config.
	dir := t.TempDir()
	cert, key := selfSignedCert(t, dir)
	webYML := filepath.Join(dir, "web.yml")
	require.NoError(t, os.WriteFile(webYML, []byte(fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  %s: %s\n",
		cert, key, e2eUser, e2eBcrypt)), 0o600))
	tlsExp := startExporter(t, "[[inputs.iperf3]]\n  alias = \"tls\"\n", "--web.config.file", webYML)

	// examples/prometheus/prometheus.yml with this test's addresses and
	// intervals, its rules beside it, and one more job for the TLS exporter.
	promConf := readExample(t, "prometheus/prometheus.yml")
	promConf = replaceAll(t, promConf, "  scrape_interval: 1m\n", "  scrape_interval: 1s\n  scrape_timeout: 1s\n")
	promConf = replaceAll(t, promConf, "evaluation_interval: 1m", "evaluation_interval: 1s")
	promConf = replaceAll(t, promConf, "scrape_interval: 15m", "scrape_interval: 6s")
	promConf = replaceAll(t, promConf, "scrape_timeout: 30s", "scrape_timeout: 6s")
	promConf = replaceAll(t, promConf, "module: [wan]", "module: [quick]")
	promConf = replaceAll(t, promConf, `["iperf.example.net", "192.0.2.7:5202"]`, fmt.Sprintf("[%q, %q, %q]", ourAddr, stockAddr, deadAddr))
	promConf = replaceAll(t, promConf, "iperfmon.example.net:9579", exp.Addr)
	promConf += fmt.Sprintf(`
  - job_name: tls
    scheme: https
    tls_config:
      ca_file: %q
    basic_auth:
      username: %s
      password: %s
    static_configs:
      - targets: [%q]
`, cert, e2eUser, e2eSecret, tlsExp.Addr)
	prom := startPrometheus(t, promConf, map[string]string{"iperf3.rules.yml": readExample(t, "prometheus/iperf3.rules.yml")})

	// Scheduled results: both servers, both directions, all successes.
	wantPaths := []string{ourAddr + " forward", ourAddr + " reverse", stockAddr + " forward", stockAddr + " reverse"}
	waitSeries(t, prom, `iperf3_up{job="iperfmon",result="success"} == 1`, func(s promSample) string {
		checkPathLabels(t, s, "tcp")
		return "127.0.0.1:" + s.Labels["port"] + " " + s.Labels["direction"]
	}, wantPaths)
	waitSeries(t, prom, `iperf3_received_bytes_per_second{job="iperfmon"} > 1e6`, func(s promSample) string {
		return "127.0.0.1:" + s.Labels["port"] + " " + s.Labels["direction"]
	}, wantPaths)

	// Probes: a success for each live target and direction (a probe may meet
	// a scheduled test and report server_busy; some scrape gets through).
	waitSeries(t, prom, `max_over_time(iperf3_up{job="iperf3_probe",result="success"}[5m]) == 1`, func(s promSample) string {
		checkPathLabels(t, s, "tcp")
		require.Equal(t, s.Labels["instance"], "127.0.0.1:"+s.Labels["port"], "instance is the probed target: %v", s.Labels)
		return s.Labels["instance"] + " " + s.Labels["direction"]
	}, wantPaths)
	// The dead target: iperf3_up 0 with its result, and the scrape itself up.
	waitSeries(t, prom, fmt.Sprintf(`iperf3_up{job="iperf3_probe",instance=%q} == 0`, deadAddr), func(s promSample) string {
		return s.Labels["direction"] + " " + s.Labels["result"]
	}, []string{"forward connection_failed", "reverse connection_failed"})
	waitSeries(t, prom, `up{job="iperf3_probe"} == 1`, func(s promSample) string { return s.Labels["instance"] },
		[]string{ourAddr, stockAddr, deadAddr})

	// The example's alert rules loaded and evaluate on the exporter's series.
	require.NoError(t, waitFor(context.Background(), 30*time.Second, 500*time.Millisecond, func() error {
		health, err := prom.ruleHealth()
		if err != nil {
			return err
		}
		want := map[string]string{"Iperf3ThroughputRegression": "ok", "Iperf3TestFailing": "ok", "Iperf3PacketLoss": "ok", "Iperf3HighJitter": "ok"}
		if fmt.Sprint(health) != fmt.Sprint(want) {
			return fmt.Errorf("rule health %v, want %v", health, want)
		}
		return nil
	}))

	// TLS and basic auth: Prometheus scraped it; a client without the
	// password is refused.
	waitSeries(t, prom, `iperfmon_config_last_reload_successful{job="tls"} == 1`, func(s promSample) string { return s.Labels["job"] }, []string{"tls"})
	insecure := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfigTrusting(t, cert)}}
	resp, err := insecure.Get("https://" + tlsExp.Addr + "/metrics")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	// SIGHUP: the stock server's table goes, a module comes.
	require.NoError(t, os.WriteFile(exp.configPath(), []byte(fmt.Sprintf(`
[[inputs.iperf3]]
  servers = [%q]
  schedule = "@every 5s"
  duration = "1s"

[[inputs.iperf3]]
  alias = "late"
  duration = "1s"
  directions = ["reverse"]
`, ourAddr)), 0o600))
	require.NoError(t, syscall.Kill(exp.proc.cmd.Process.Pid, syscall.SIGHUP))
	require.NoError(t, waitFor(context.Background(), 10*time.Second, 50*time.Millisecond, func() error {
		if n := strings.Count(exp.proc.stderr.String(), "I! config "); n < 2 {
			return fmt.Errorf("%d config loads logged", n)
		}
		return nil
	}))
	require.Contains(t, exp.proc.stderr.String(), "1 scheduled table(s), 1 module(s); 2 stale series removed")
	code, body := httpGet(t, "http://"+exp.Addr+"/metrics", nil)
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, body, fmt.Sprintf(`port="%d"`, stock), "the removed server's series left /metrics")
	code, body = httpGet(t, "http://"+exp.Addr+"/probe?module=late&target="+ourAddr, map[string]string{"X-Prometheus-Scrape-Timeout-Seconds": "5"})
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `direction="reverse"`)
	code, body = httpGet(t, "http://"+exp.Addr+"/probe?module=quick&target="+ourAddr, nil)
	require.Equal(t, http.StatusBadRequest, code, body)
	require.Contains(t, body, `unknown module "quick"; allowed "late"`)
}

// checkPathLabels checks the labels every iperf3_ series carries.
func checkPathLabels(t *testing.T, s promSample, protocol string) {
	t.Helper()
	require.Equal(t, "127.0.0.1", s.Labels["server"], "%v", s.Labels)
	require.Equal(t, protocol, s.Labels["protocol"], "%v", s.Labels)
	require.Equal(t, "false", s.Labels["bidir"], "%v", s.Labels)
	require.Contains(t, []string{"forward", "reverse"}, s.Labels["direction"], "%v", s.Labels)
	_, err := strconv.Atoi(s.Labels["port"])
	require.NoError(t, err, "%v", s.Labels)
}

// waitSeries queries Prometheus until the keys of the result's series are
// exactly want (60 s at most).
func waitSeries(t *testing.T, prom *prometheus, q string, key func(promSample) string, want []string) {
	t.Helper()
	sort.Strings(want)
	start := time.Now()
	var got []string
	err := waitFor(context.Background(), 60*time.Second, 500*time.Millisecond, func() error {
		res, err := prom.query(q)
		if err != nil {
			return err
		}
		got = got[:0]
		for _, s := range res {
			got = append(got, key(s))
		}
		sort.Strings(got)
		if strings.Join(got, "|") != strings.Join(want, "|") {
			return fmt.Errorf("series %v, want %v", got, want)
		}
		return nil
	})
	if err != nil {
		all, _ := prom.query(`{__name__=~"iperf3_up|up"}`)
		for _, s := range all {
			t.Logf("%v %v", s.Labels, s.Value)
		}
	}
	require.NoError(t, err, "query %s", q)
	t.Logf("%s: %d series after %s", q, len(want), time.Since(start).Round(100*time.Millisecond))
}

func httpGet(t *testing.T, u string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}
