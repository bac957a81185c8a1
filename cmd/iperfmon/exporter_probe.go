package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/influxdata/telegraf"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/iperfmon/iperfmon/config"
	"github.com/iperfmon/iperfmon/plugins/inputs/iperf3"
)

// probeParams are the query parameters /probe accepts: ours (target,
// module) and iperf3_exporter's, so that its users' scrape configs keep
// working.
var probeParams = []string{"target", "module", "port", "reverse_mode", "udp_mode", "bitrate", "period"}

// probeRequest is a checked /probe request.
type probeRequest struct {
	module  *iperf3.Iperf3
	targets []config.Target
	timeout time.Duration // the probe's whole deadline
}

// parseProbe checks a /probe request against the current config; every
// error is a 400 with a reason naming the parameter and what is allowed.
func parseProbe(g *generation, q url.Values, header http.Header, offset time.Duration) (*probeRequest, error) {
	for k, v := range q {
		if !slices.Contains(probeParams, k) {
			return nil, fmt.Errorf("unknown parameter %q; allowed %s", k, strings.Join(probeParams, ", "))
		}
		if len(v) > 1 {
			return nil, fmt.Errorf("parameter %q given %d times; allowed once", k, len(v))
		}
	}
	mod, err := g.module(q.Get("module"))
	if err != nil {
		return nil, err
	}
	target := q.Get("target")
	if target == "" {
		return nil, fmt.Errorf(`parameter "target" is missing; allowed a host or host:port, IPv6 in brackets`)
	}
	host, port, err := config.ParseServer(target)
	if err != nil {
		return nil, fmt.Errorf("target %q: %v; allowed a host or host:port, IPv6 in brackets", target, err)
	}
	if p := q.Get("port"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("port %q: allowed 1..65535", p)
		}
		if hasPort(target) && n != port {
			return nil, fmt.Errorf("port %q and target %q name different ports; allowed one of them, or the same", p, target)
		}
		port = n
	}
	if !g.allows(mod, host, port) {
		return nil, fmt.Errorf("target %q (port %d) is not in allowed_targets of %s", target, port, moduleName(mod, g))
	}

	tbl := mod.Table // a copy: the module is shared by every probe
	tbl.Servers = []string{serverEntry(host, port)}
	tbl.Schedule, tbl.Splay = "", 0
	if v := q.Get("reverse_mode"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("reverse_mode %q: allowed true or false", v)
		}
		tbl.Directions = []string{config.DirectionForward}
		if b {
			tbl.Directions = []string{config.DirectionReverse}
		}
	}
	if v := q.Get("udp_mode"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("udp_mode %q: allowed true or false", v)
		}
		tbl.Protocol = "tcp"
		if b {
			tbl.Protocol = "udp"
		}
	}
	if v := q.Get("bitrate"); v != "" {
		if err := tbl.Bitrate.UnmarshalText([]byte(v)); err != nil {
			return nil, fmt.Errorf("bitrate %q: %v", v, err)
		}
	}
	if v := q.Get("period"); v != "" {
		if err := tbl.Duration.UnmarshalText([]byte(v)); err != nil {
			return nil, fmt.Errorf("period %q: %v", v, err)
		}
	}
	if err := tbl.Validate(); err != nil {
		return nil, fmt.Errorf("%s with this probe's parameters: %v", moduleName(mod, g), err)
	}
	targets := tbl.Targets()

	// The deadline: the scrape's timeout less the offset, capped by the
	// module's timeout for each test; every test must fit in it.
	perTest := tbl.TestTimeout()
	timeout := time.Duration(len(targets)) * perTest
	scrape := "the module's timeout"
	if h := header.Get("X-Prometheus-Scrape-Timeout-Seconds"); h != "" {
		s, err := strconv.ParseFloat(h, 64)
		if err != nil || s <= 0 || math.IsInf(s, 0) || math.IsNaN(s) {
			return nil, fmt.Errorf("header X-Prometheus-Scrape-Timeout-Seconds %q: allowed a positive number of seconds", h)
		}
		s = min(s, 24*time.Hour.Seconds()) // beyond any module's timeout; no overflow
		if d := time.Duration(s*float64(time.Second)) - offset; d < timeout {
			timeout = d
			scrape = fmt.Sprintf("the scrape timeout %s less %s", time.Duration(s*float64(time.Second)), offset)
		}
	}
	need := time.Duration(len(targets)) * (time.Duration(tbl.Duration) + time.Duration(tbl.Omit) + time.Second)
	if need > timeout {
		return nil, fmt.Errorf("%d test(s) of %s (period/duration %s, omit %s, plus 1s each) do not fit in %s (%s); "+
			"allowed a shorter period, fewer directions or a longer scrape_timeout",
			len(targets), moduleName(mod, g), time.Duration(tbl.Duration), time.Duration(tbl.Omit), scrape, timeout.Round(time.Millisecond))
	}
	return &probeRequest{module: mod, targets: targets, timeout: timeout}, nil
}

func moduleName(mod *iperf3.Iperf3, g *generation) string {
	if mod == g.builtin {
		return "the built-in module"
	}
	return fmt.Sprintf("module %q", mod.Alias)
}

// hasPort reports whether a target names a port.
func hasPort(target string) bool {
	if i := strings.IndexByte(target, ']'); i >= 0 {
		return strings.Contains(target[i:], ":")
	}
	return strings.Contains(target, ":")
}

// serverEntry writes host and port as a servers entry (IPv6 in brackets).
func serverEntry(host string, port int) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(port)
}

// serveProbe answers /probe: 400 for a bad request, 503 when
// --max-concurrent-probes are in flight, else the probe's metrics.
func (e *exporter) serveProbe(w http.ResponseWriter, r *http.Request) {
	g := e.current()
	req, err := parseProbe(g, r.URL.Query(), r.Header, e.offset)
	if err != nil {
		e.probes.WithLabelValues("bad_request").Inc()
		e.log.Debugf("probe %s: 400: %v", r.URL.RawQuery, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	select {
	case e.inflight <- struct{}{}:
		defer func() { <-e.inflight }()
	default:
		e.probes.WithLabelValues("too_many").Inc()
		http.Error(w, fmt.Sprintf("%d probes in flight already (--max-concurrent-probes); retry later", cap(e.inflight)), http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), req.timeout)
	defer cancel()
	start := time.Now()
	ms := req.module.Probe(ctx, req.targets)
	elapsed := time.Since(start)
	e.probes.WithLabelValues(probeOutcome(ms)).Inc()
	fams := append(promFamilies(ms), &dto.MetricFamily{
		Name: proto.String("iperf3_probe_duration_seconds"), Type: dto.MetricType_GAUGE.Enum(),
		Help:   proto.String("How long the probe took, waiting for the server included."),
		Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: proto.Float64(elapsed.Seconds())}}},
	})
	sort.Slice(fams, func(i, j int) bool { return fams[i].GetName() < fams[j].GetName() })
	promhttp.HandlerFor(prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return fams, nil }),
		promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
}

// probeOutcome is "success" when every test of a probe succeeded, else
// the first failure's result.
func probeOutcome(ms []telegraf.Metric) string {
	for _, m := range ms {
		if r := m.Tags()["result"]; r != "success" {
			return r
		}
	}
	return "success"
}
