package iperf3

import (
	"context"
	_ "embed"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/influxdata/telegraf"
	tgconfig "github.com/influxdata/telegraf/config"
	"github.com/influxdata/telegraf/logger"
	"github.com/influxdata/telegraf/plugins/inputs"
	"github.com/influxdata/telegraf/selfstat"
	"github.com/robfig/cron/v3"

	"github.com/iperfmon/iperfmon/config"
	"github.com/iperfmon/iperfmon/internal/retry"
	"github.com/iperfmon/iperfmon/measure"
)

//go:embed sample.conf
var sampleConfig string

// runFunc runs one test; measure.Client.Run in production.
type runFunc func(ctx context.Context, t measure.Test) (*measure.Result, error)

// Iperf3 is the [[inputs.iperf3]] service input: scheduled iperf3 tests
// against one or more servers.
type Iperf3 struct {
	config.Table
	// Password takes the table's password key as a Telegraf secret, so it
	// may come from a secret store (@{store:key}); Init copies it into
	// Table.Password for the test.
	Password tgconfig.Secret `toml:"password"`
	Log      telegraf.Logger `toml:"-"`

	// Test seams, filled by Init only when nil.
	run    runFunc
	splay  func(max time.Duration) time.Duration // random delay in [0, max)
	jitter func(d time.Duration) time.Duration   // randomised backoff around d
	locks  *serverLocks                          // per-server locks; the process-wide registry

	targets   []config.Target
	schedule  cron.Schedule // nil: run on Telegraf's interval (Gather)
	plan      *slotPlan     // fleet or mesh slots; nil: cron runs every target
	agent     string        // the agent tag; "" outside fleets and meshes
	skipped   atomic.Int64
	lastStart []atomic.Int64 // per target: when its last test started (Unix ns)
	skipStat  selfstat.Stat

	latencyWarned atomic.Bool // the probe-unavailable warning was logged

	mu     sync.Mutex
	ctx    context.Context
	cancel context.CancelFunc
	cron   *cron.Cron
	wg     sync.WaitGroup // Gather and RunOnce calls in flight
}

// New returns a plugin for each table (as config.Load returns them), with
// logging to Telegraf's default logger. Call Init on each before use.
func New(tables ...config.Table) []*Iperf3 {
	out := make([]*Iperf3, len(tables))
	for i, t := range tables {
		out[i] = &Iperf3{Table: t}
	}
	return out
}

var (
	_ telegraf.ServiceInput = (*Iperf3)(nil)
	_ telegraf.Initializer  = (*Iperf3)(nil)
)

func init() {
	inputs.Add("iperf3", func() telegraf.Input {
		return &Iperf3{Table: config.DefaultTable()}
	})
}

// SampleConfig returns the sample configuration of the plugin.
func (*Iperf3) SampleConfig() string { return sampleConfig }

// Init validates the table and parses the schedule. It never dials.
func (p *Iperf3) Init() error {
	if !p.Password.Empty() {
		pw, err := p.Password.Get()
		if err != nil {
			return fmt.Errorf("inputs.iperf3: password: %w", err)
		}
		p.Table.Password = pw.String()
		pw.Destroy()
	}
	if err := p.Validate(); err != nil {
		return err
	}
	p.schedule = nil
	if p.Schedule != "" {
		s, err := config.ParseSchedule(p.Schedule)
		if err != nil {
			return err // Validate parsed it already
		}
		p.schedule = s
	}
	p.targets = p.Targets()
	plan, err := newSlotPlan(&p.Table, p.targets)
	if err != nil {
		return err
	}
	p.plan = plan
	p.agent = ""
	if p.Slotted() || p.Agent != "" {
		p.agent = p.AgentName()
	}
	p.lastStart = make([]atomic.Int64, len(p.targets))
	if p.Log == nil {
		p.Log = logger.New("inputs", "iperf3", "")
	}
	if p.run == nil {
		p.run = p.clientRun()
	}
	if p.splay == nil {
		p.splay = randomBelow
	}
	if p.jitter == nil {
		p.jitter = retry.Jitter
	}
	if p.locks == nil {
		p.locks = servers
	}
	p.skipStat = selfstat.Register("iperf3", "tests_skipped", map[string]string{})
	return nil
}

// Start begins the cron schedule, or, with an empty schedule, only keeps
// acc for Gather.
func (p *Iperf3) Start(acc telegraf.Accumulator) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ctx, p.cancel = context.WithCancel(context.Background())
	if p.schedule == nil {
		return nil
	}
	if p.plan != nil {
		ctx := p.ctx
		p.wg.Go(func() { p.slotLoop(ctx, acc) })
		if idx, start, _, ok := p.plan.next(time.Now()); ok {
			p.Log.Infof("agent %q: %d test(s) in slots of %d per period of schedule %q; first: %s %s at %s",
				p.agent, len(p.targets), p.plan.count, p.Schedule, p.targets[idx].Addr(), p.targets[idx].Direction, start.Format(time.RFC3339))
		}
		return nil
	}
	log := cronLogger{p.Log}
	p.cron = cron.New(
		cron.WithParser(config.ScheduleParser),
		cron.WithLogger(log),
		// No SkipIfStillRunning: an overlapping run waits for its servers
		// and is skipped and counted (not just logged) if its slot passes.
		cron.WithChain(cron.Recover(log)),
	)
	ctx := p.ctx
	p.cron.Schedule(p.schedule, cron.FuncJob(func() {
		// The slot of this run ends when the next one is due.
		p.runAll(ctx, acc, p.schedule.Next(time.Now()), true)
	}))
	p.cron.Start()
	// An hourly schedule is silent for up to an hour: say when it begins.
	p.Log.Infof("schedule %q: %d test(s), first run at %s", p.Schedule, len(p.targets),
		p.schedule.Next(time.Now()).Format(time.RFC3339))
	return nil
}

// Gather runs every test of the table when no schedule is set; with a
// schedule the tests run from Start and Gather does nothing. Failed tests
// are metrics, not errors.
func (p *Iperf3) Gather(acc telegraf.Accumulator) error {
	if p.schedule != nil {
		return nil
	}
	ctx, done := p.begin()
	defer done()
	p.runAll(ctx, acc, time.Time{}, true)
	return nil
}

// RunOnce runs every test of the table now, without splay, and returns
// when all are done (iperfmon once). It returns an error only when ctx
// ends first.
func (p *Iperf3) RunOnce(ctx context.Context, acc telegraf.Accumulator) error {
	pctx, done := p.begin()
	defer done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(pctx, cancel) // Stop also ends RunOnce
	defer stop()
	p.runAll(ctx, acc, time.Time{}, false)
	return ctx.Err()
}

// begin registers a Gather or RunOnce call with Stop and returns the
// plugin's context (a background one when Start was not called).
func (p *Iperf3) begin() (context.Context, func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx == nil {
		p.ctx, p.cancel = context.WithCancel(context.Background())
	}
	p.wg.Add(1)
	return p.ctx, p.wg.Done
}

// Stop cancels running tests and waits for them to end.
func (p *Iperf3) Stop() {
	p.mu.Lock()
	cancel, c := p.cancel, p.cron
	p.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if c != nil {
		<-c.Stop().Done()
	}
	p.wg.Wait()
}

// Skipped is how many tests this plugin skipped because their slot passed
// while they waited for a server (also the internal_iperf3 tests_skipped
// field in Telegraf).
func (p *Iperf3) Skipped() int64 { return p.skipped.Load() }
