package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/influxdata/telegraf"
	"github.com/iperfmon/iperfmon/config"
	"github.com/iperfmon/iperfmon/plugins/inputs/iperf3"
)

// The built-in demo of once and run without --config: an embedded server
// on loopback, tested TCP forward and reverse.
const (
	demoDuration = 2 * time.Second
	demoSchedule = "@every 10s"
)

// scheduleFlags are the flags of once and run.
type scheduleFlags struct {
	config string
	agent  string
	output string
	debug  bool
	help   bool
}

// parseScheduleFlags parses the flags of once and run (-o only where
// withOutput). done means the mode ends here with code: help was shown or
// the usage was bad.
func (a *app) parseScheduleFlags(mode, usage string, args []string, withOutput bool) (sf scheduleFlags, code int, done bool) {
	fs := newFlagSet(mode)
	sf.output = outInflux
	fs.StringVar(&sf.config, "config", "", "config file with [[inputs.iperf3]] tables (default: a demo against an embedded loopback server)")
	if withOutput {
		fs.VarP(choiceValue{&sf.output, []string{outInflux, outPrometheus}}, "output", "o", "influx (line protocol) or prometheus (text exposition)")
	}
	fs.StringVar(&sf.agent, "agent", "", "this agent's name in the tables' fleet or mesh, and the agent tag of every point (default: each table's agent key, else the host name)")
	fs.BoolVarP(&sf.debug, "debug", "d", false, "debug output on stderr")
	fs.BoolVarP(&sf.help, "help", "h", false, "show this help")
	if err := parseFlags(fs, args); err != nil {
		a.usageError(mode, err)
		return sf, exitUsage, true
	}
	if sf.help {
		a.help(usage, fs)
		return sf, exitOK, true
	}
	if fs.NArg() > 0 {
		a.usageError(mode, usagef("unexpected arguments %q", fs.Args()))
		return sf, exitUsage, true
	}
	return sf, exitOK, false
}

func (a *app) once(ctx context.Context, args []string) int {
	sf, code, done := a.parseScheduleFlags("once", usageOnce, args, true)
	if done {
		return code
	}
	log := newLogger(a.stderr, sf.debug)
	plugins, stop, code := a.loadPlugins(ctx, "once", sf, "", log)
	if plugins == nil {
		return code
	}
	defer stop()

	var points []telegraf.Metric // prometheus: written at the end, grouped by name
	sink := func(m telegraf.Metric) error { points = append(points, m); return nil }
	if sf.output == outInflux {
		lw, err := newLineWriter(a.stdout)
		if err != nil {
			log.Errorf("%v", err)
			return exitFail
		}
		sink = func(m telegraf.Metric) error { return lw.write(m) }
	}
	acc := &accumulator{sink: sink, log: log}
	var wg sync.WaitGroup
	for _, p := range plugins {
		wg.Go(func() {
			// Tests of different tables against one server still never
			// overlap: the plugin serialises them per server.
			if err := p.RunOnce(ctx, acc); err != nil {
				log.Warnf("stopped before all tests ran: %v", err)
			}
		})
	}
	wg.Wait()
	if sf.output == outPrometheus {
		if err := writePrometheus(a.stdout, points); err != nil {
			log.Errorf("%v", err)
			return exitFail
		}
	}
	if ctx.Err() != nil || acc.anyFailed() {
		return exitFail
	}
	return exitOK
}

func (a *app) run(ctx context.Context, args []string) int {
	sf, code, done := a.parseScheduleFlags("run", usageRun, args, false)
	if done {
		return code
	}
	// A hangup (terminal closed, or a reload habit) must not kill the
	// scheduler; a changed config needs a restart.
	signal.Ignore(syscall.SIGHUP)
	log := newLogger(a.stderr, sf.debug)
	plugins, stop, code := a.loadPlugins(ctx, "run", sf, demoSchedule, log)
	if plugins == nil {
		return code
	}
	defer stop()
	lw, err := newLineWriter(a.stdout)
	if err != nil {
		log.Errorf("%v", err)
		return exitFail
	}
	acc := &accumulator{sink: func(m telegraf.Metric) error { return lw.write(m) }, log: log}
	for i, p := range plugins {
		if err := p.Start(acc); err != nil {
			log.Errorf("start inputs.iperf3[%d]: %v", i, err)
			for _, q := range plugins[:i] {
				q.Stop()
			}
			return exitFail
		}
	}
	log.Infof("running %d table(s); stop with SIGTERM, SIGINT or by closing stdin", len(plugins))
	select {
	case <-ctx.Done():
		log.Infof("signal received, stopping")
	case <-a.stdinClosed():
		log.Infof("stdin closed, stopping")
	}
	for _, p := range plugins {
		p.Stop()
	}
	return exitOK
}

// stdinClosed is closed when stdin reaches end of file: Telegraf's execd
// closes it when it stops. Only a pipe is watched: a terminal or
// /dev/null (systemd's default) would end the scheduler at once.
func (a *app) stdinClosed() <-chan struct{} {
	ch := make(chan struct{})
	if f, ok := a.stdin.(*os.File); ok {
		fi, err := f.Stat()
		if err != nil || fi.Mode()&(os.ModeNamedPipe|os.ModeSocket) == 0 {
			return ch // never closed
		}
	}
	go func() {
		_, _ = io.Copy(io.Discard, a.stdin)
		close(ch)
	}()
	return ch
}

// loadPlugins reads the config (or builds the demo) and returns one
// initialised plugin per table. On failure plugins is nil and code is the
// exit code. stop shuts the demo server down.
func (a *app) loadPlugins(ctx context.Context, mode string, sf scheduleFlags, schedule string, log *logger) (plugins []*iperf3.Iperf3, stop func(), code int) {
	stop = func() {}
	var tables []config.Table
	if sf.config != "" {
		var err error
		tables, err = config.Load(sf.config, config.WithAgent(sf.agent))
		if err != nil {
			log.Errorf("iperfmon %s: %v", mode, err)
			return nil, nil, exitUsage
		}
		if len(tables) == 0 {
			log.Errorf("iperfmon %s: %s has no [[inputs.iperf3]] table", mode, sf.config)
			return nil, nil, exitUsage
		}
		for i, t := range tables {
			if mode == "run" && t.Schedule == "" && len(t.Servers) > 0 { // no servers: an exporter module only
				// Telegraf's interval is the schedule of such a table; run has none.
				log.Errorf("iperfmon run: %s: inputs.iperf3[%d] (servers %v): schedule is empty; run needs one, e.g. schedule = \"*/15 * * * *\" (or use iperfmon once under Telegraf's [[inputs.exec]])",
					sf.config, i, t.Servers)
				return nil, nil, exitUsage
			}
		}
	} else {
		addr, shutdown, err := startDemoServer(ctx, log)
		if err != nil {
			log.Errorf("iperfmon %s: embedded server: %v", mode, err)
			return nil, nil, exitFail
		}
		stop = shutdown
		log.Infof("no --config: testing an embedded server on %s", addr)
		t := config.DefaultTable()
		t.Servers = []string{addr}
		t.Schedule = schedule
		t.Directions = []string{config.DirectionForward, config.DirectionReverse}
		t.Duration = config.Duration(demoDuration)
		t.Splay = 0
		config.WithAgent(sf.agent)(&t)
		tables = []config.Table{t}
	}
	plugins = iperf3.New(tables...)
	for i, p := range plugins {
		p.Log = log
		if err := p.Init(); err != nil {
			stop()
			where := "built-in config"
			if sf.config != "" {
				where = fmt.Sprintf("%s: inputs.iperf3[%d]", sf.config, i)
			}
			log.Errorf("iperfmon %s: %s: %v", mode, where, err)
			return nil, nil, exitUsage
		}
	}
	return plugins, stop, exitOK
}
