package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	promversion "github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
)

// exporter is `iperfmon exporter`: the scheduled tables of a config as
// /metrics, on-demand tests as /probe, reloadable.
type exporter struct {
	configPath string
	offset     time.Duration // subtracted from the scrape timeout
	log        *logger
	results    *resultStore
	acc        *accumulator
	inflight   chan struct{} // one slot per probe in flight
	probes     *prometheus.CounterVec
	reg        *prometheus.Registry

	mu          sync.Mutex // reloads, one at a time
	gen         *generation
	skippedBase int64 // skipped tests of generations before this one
	reloadOK    prometheus.Gauge
	reloadTime  prometheus.Gauge
}

func newExporter(configPath string, maxProbes int, offset time.Duration, log *logger) *exporter {
	e := &exporter{configPath: configPath, offset: offset, log: log, results: newResultStore(),
		inflight: make(chan struct{}, maxProbes), reg: prometheus.NewRegistry()}
	e.acc = &accumulator{sink: e.results.add, log: log}
	promversion.Version = versionString() // for iperfmon_build_info
	e.probes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "iperfmon_probes_total",
		Help: "Requests to /probe by outcome: success, a test's failing result, bad_request (400) or too_many (503)."}, []string{"result"})
	e.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{Name: "iperfmon_config_last_reload_successful",
		Help: "1 when the last (re)load of the config succeeded."})
	e.reloadTime = prometheus.NewGauge(prometheus.GaugeOpts{Name: "iperfmon_config_last_reload_success_timestamp_seconds",
		Help: "When the config was last loaded successfully."})
	e.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector("iperfmon"),
		e.probes, e.reloadOK, e.reloadTime,
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "iperf3_tests_skipped_total",
			Help: "Scheduled tests skipped because their slot passed while they waited for a server."},
			func() float64 {
				e.mu.Lock()
				defer e.mu.Unlock()
				n := e.skippedBase
				if e.gen != nil {
					n += e.gen.skipped()
				}
				return float64(n)
			}),
	)
	return e
}

// current is the config in force.
func (e *exporter) current() *generation {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.gen
}

// reload reads the config again; on any error the old one stays in force.
// The old tables' schedules stop (a test of theirs in flight is cancelled
// and not reported), the new ones start, and the series of paths no
// longer configured leave /metrics.
func (e *exporter) reload() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	g, err := loadGeneration(e.configPath, e.log)
	if err != nil {
		e.reloadOK.Set(0)
		if e.gen != nil {
			e.log.Errorf("reload: %v; keeping the config loaded before", err)
		}
		return err
	}
	if old := e.gen; old != nil {
		for _, p := range old.scheduled {
			p.Stop()
		}
	}
	for i, p := range g.scheduled {
		if err := p.Start(e.acc); err != nil {
			for _, q := range g.scheduled[:i] {
				q.Stop()
			}
			e.reloadOK.Set(0)
			e.restartOld()
			return fmt.Errorf("start table: %w", err)
		}
	}
	if e.gen != nil {
		e.skippedBase += e.gen.skipped()
	}
	e.gen = g
	removed := e.results.keepOnly(g.paths)
	e.reloadOK.Set(1)
	e.reloadTime.SetToCurrentTime()
	e.log.Infof("config %s loaded: %d scheduled table(s), %d module(s); %d stale series removed", e.configPath, len(g.scheduled), len(g.modules), removed)
	return nil
}

// restartOld starts the schedules of the config in force again after a
// reload failed half-way.
func (e *exporter) restartOld() {
	if e.gen == nil {
		return
	}
	for _, p := range e.gen.scheduled {
		if err := p.Start(e.acc); err != nil {
			e.log.Errorf("restart table of the previous config: %v", err)
		}
	}
}

func (e *exporter) stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.gen != nil {
		for _, p := range e.gen.scheduled {
			p.Stop()
		}
	}
}

// handler is the exporter's HTTP mux.
func (e *exporter) handler(landing http.Handler) http.Handler {
	mux := http.NewServeMux()
	metrics := promhttp.HandlerFor(prometheus.Gatherers{e.reg, e.results},
		promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, Registry: e.reg})
	mux.Handle("/metrics", promhttp.InstrumentMetricHandler(e.reg, metrics))
	mux.HandleFunc("/probe", e.serveProbe)
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			w.Header().Set("Allow", "POST, PUT")
			http.Error(w, "reload needs POST (or PUT)", http.StatusMethodNotAllowed)
			return
		}
		if err := e.reload(); err != nil {
			http.Error(w, fmt.Sprintf("reload failed, the previous config stays in force: %v", err), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "config reloaded")
	})
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "Healthy") })
	if landing != nil {
		mux.Handle("/", landing)
	}
	return mux
}

type exporterFlags struct {
	config, listen, webConfig string
	maxProbes                 int
	offset                    time.Duration
	debug, help               bool
}

func (a *app) exporter(ctx context.Context, args []string) int {
	var f exporterFlags
	fs := newFlagSet("exporter")
	fs.StringVar(&f.config, "config", "", "config file with [[inputs.iperf3]] tables (required)")
	fs.StringVar(&f.listen, "web.listen-address", ":9579", "address to serve /metrics and /probe on")
	fs.StringVar(&f.webConfig, "web.config.file", "", "exporter-toolkit web config (TLS, basic auth); empty: plain HTTP")
	fs.IntVar(&f.maxProbes, "max-concurrent-probes", 8, "probes in flight at once; more are answered 503")
	fs.DurationVar(&f.offset, "timeout-offset", 500*time.Millisecond, "subtracted from Prometheus's scrape timeout to get a probe's deadline")
	fs.BoolVarP(&f.debug, "debug", "d", false, "debug output on stderr")
	fs.BoolVarP(&f.help, "help", "h", false, "show this help")
	if err := parseFlags(fs, args); err != nil {
		a.usageError("exporter", err)
		return exitUsage
	}
	if f.help {
		a.help(usageExporter, fs)
		return exitOK
	}
	switch {
	case fs.NArg() > 0:
		a.usageError("exporter", usagef("unexpected arguments %q", fs.Args()))
		return exitUsage
	case f.config == "":
		a.usageError("exporter", usagef("--config FILE is required"))
		return exitUsage
	case f.maxProbes < 1 || f.maxProbes > 1000:
		a.usageError("exporter", usagef("--max-concurrent-probes %d: allowed 1..1000", f.maxProbes))
		return exitUsage
	case f.offset < 0 || f.offset > time.Minute:
		a.usageError("exporter", usagef("--timeout-offset %s: allowed 0s..1m", f.offset))
		return exitUsage
	}
	log := newLogger(a.stderr, f.debug)
	if f.webConfig != "" {
		if err := web.Validate(f.webConfig); err != nil {
			log.Errorf("iperfmon exporter: --web.config.file %s: %v", f.webConfig, err)
			return exitUsage
		}
	}
	// A hangup reloads (registered before the first load, so none is lost).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	e := newExporter(f.config, f.maxProbes, f.offset, log)
	if err := e.reload(); err != nil {
		log.Errorf("iperfmon exporter: %v", err)
		return exitUsage
	}
	defer e.stop()

	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        "iperfmon exporter",
		Description: "iperf3 tests for Prometheus: scheduled results on /metrics, on-demand tests on /probe",
		Version:     versionString(),
		Form: web.LandingForm{Action: "/probe", Inputs: []web.LandingFormInput{
			{Label: "Target", Type: "text", Name: "target", Placeholder: "host:port"},
			{Label: "Module", Type: "text", Name: "module", Placeholder: "alias of a table (empty: built-in)"},
		}},
		Links: []web.LandingLinks{{Address: "/metrics", Text: "Metrics"}, {Address: "/-/healthy", Text: "Health"}},
	})
	if err != nil {
		log.Errorf("iperfmon exporter: landing page: %v", err)
		return exitFail
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		log.Errorf("iperfmon exporter: --web.listen-address %s: %v", f.listen, err)
		return exitUsage
	}
	log.Infof("exporter listening on %s", ln.Addr())
	srv := &http.Server{Handler: e.handler(landing), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	served := make(chan error, 1)
	noSystemd := false
	go func() {
		served <- web.Serve(ln, srv, &web.FlagConfig{WebListenAddresses: &[]string{f.listen},
			WebSystemdSocket: &noSystemd, WebConfigFile: &f.webConfig}, log.slogInfo())
	}()
	for {
		select {
		case <-hup:
			log.Infof("SIGHUP: reloading %s", f.config)
			_ = e.reload() // logged; the old config stays
		case err := <-served:
			if !errors.Is(err, http.ErrServerClosed) {
				log.Errorf("iperfmon exporter: %v", err)
				return exitFail
			}
			return exitOK
		case <-ctx.Done():
			log.Infof("signal received, stopping")
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = srv.Shutdown(sctx) // probes in flight end with their requests
			cancel()
			<-served
			return exitOK
		}
	}
}
