package iperf3

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sort"
	"time"

	"github.com/influxdata/telegraf"

	"github.com/iperfmon/iperfmon/config"
	"github.com/iperfmon/iperfmon/internal/retry"
	"github.com/iperfmon/iperfmon/measure"
)

// runAll runs every target of the table once, one after the other: first
// a random splay (when splay is set and withSplay), then each test under
// its server's lock. slotEnd, when not zero, is when the next scheduled run
// is due: a test that cannot start before then is skipped and counted.
// Each run takes the targets least recently started first, so that a table
// whose tests outlast its schedule still measures every target in turn
// instead of only the first.
func (p *Iperf3) runAll(ctx context.Context, acc telegraf.Accumulator, slotEnd time.Time, withSplay bool) {
	if withSplay && p.Splay > 0 {
		if !sleep(ctx, p.splay(time.Duration(p.Splay))) {
			return
		}
	}
	for i, idx := range p.runOrder() {
		target := p.targets[idx]
		release, err := p.locks.acquire(ctx, target.Key(), slotEnd)
		if errors.Is(err, errSlotPassed) {
			n := int64(len(p.targets) - i)
			p.skipped.Add(n)
			p.skipStat.Incr(n)
			p.Log.Warnf("skipped %d test(s), starting with %s %s: the next scheduled run (%s) came before they could start; "+
				"this table's tests take longer than its schedule allows, or other tables keep the servers busy",
				n, target.Addr(), target.Direction, slotEnd.Format(time.RFC3339))
			return
		}
		if err != nil {
			return // stopping
		}
		p.lastStart[idx].Store(time.Now().UnixNano())
		start, res, err := p.runTest(ctx, target)
		release()
		p.warnLatency(res)
		if ctx.Err() != nil {
			// Stopped mid-test: a shutdown is not a measurement.
			p.Log.Debugf("test of %s %s cancelled: %v", target.Addr(), target.Direction, err)
			return
		}
		p.emit(acc, target, start, res, err, nil)
	}
}

// emit adds the points of one test, with this agent's tag and, for a test
// run in a fleet or mesh slot, how late it started (late non-nil).
func (p *Iperf3) emit(acc telegraf.Accumulator, target config.Target, start time.Time, res *measure.Result, err error, late *time.Duration) {
	for _, m := range Metrics(target.Name(), target.Test, res, err, start, p.IntervalMetrics) {
		addAgent(m, p.agent, late)
		acc.AddMetric(m)
	}
}

// warnLatency warns once per table when the latency probe could not run:
// the tests go on, without the latency fields.
func (p *Iperf3) warnLatency(res *measure.Result) {
	if res == nil || res.Latency == nil || res.Latency.Unavailable == "" || p.latencyWarned.Swap(true) {
		return
	}
	p.Log.Warnf("latency = true but no latency probe is possible, so idle_rtt_ms and loaded_rtt_ms are left out: %s; "+
		"allow ping sockets (sysctl net.ipv4.ping_group_range) or grant CAP_NET_RAW, or set latency = false", res.Latency.Unavailable)
}

// runOrder is the order of this run's targets: least recently started
// first, never started first of all, ties in configuration order.
func (p *Iperf3) runOrder() []int {
	last := make([]int64, len(p.targets))
	order := make([]int, len(p.targets))
	for i := range order {
		order[i] = i
		last[i] = p.lastStart[i].Load()
	}
	sort.SliceStable(order, func(a, b int) bool { return last[order[a]] < last[order[b]] })
	return order
}

// runTest runs one test within its own deadline (Telegraf never cancels a
// gather), retried as the table's busy_retries and busy_backoff say (see
// retry.Policy). start is when the attempt that produced the outcome began.
func (p *Iperf3) runTest(ctx context.Context, target config.Target) (time.Time, *measure.Result, error) {
	policy := retry.Policy{
		Busy:    p.BusyRetries,
		Backoff: time.Duration(p.BusyBackoff),
		Jitter:  p.jitter,
		Debugf:  func(f string, a ...any) { p.Log.Debugf("%s: "+f, append([]any{target.Addr()}, a...)...) },
	}
	return policy.Run(ctx, target.Test, p.guardedRun)
}

// stuckGrace is how long past its context a test may take to return before
// guardedRun gives up on it.
const stuckGrace = 2 * time.Second

// errStuck is reported for a test that did not return at its deadline.
var errStuck = errors.New("the test did not stop at its deadline")

// guardedRun calls p.run so that no single test can take the scheduler
// down or hold it: a panic becomes an error (reported as a failed test
// with result protocol_error), and a test that ignores its deadline is
// abandoned stuckGrace after it (reported as timeout) so that the other
// targets still run. An abandoned test's goroutine ends whenever run does.
func (p *Iperf3) guardedRun(ctx context.Context, test measure.Test) (*measure.Result, error) {
	type outcome struct {
		res *measure.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				p.Log.Errorf("test of %s:%d panicked: %v\n%s", test.Host, test.Port, v, debug.Stack())
				done <- outcome{err: &measure.Error{Code: measure.CodeProtocolError, Op: "test",
					Err: fmt.Errorf("internal error: panic: %v", v)}}
			}
		}()
		res, err := p.run(ctx, test)
		done <- outcome{res, err}
	}()
	select {
	case o := <-done:
		return o.res, o.err
	case <-ctx.Done():
	}
	t := time.NewTimer(stuckGrace)
	defer t.Stop()
	select {
	case o := <-done:
		return o.res, o.err
	case <-t.C:
		p.Log.Errorf("test of %s:%d did not stop within %s of its deadline; abandoned", test.Host, test.Port, stuckGrace)
		return nil, &measure.Error{Code: measure.CodeTimeout, Op: "test", Err: fmt.Errorf("%w: %w", errStuck, context.Cause(ctx))}
	}
}

// sleep waits for d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// randomBelow returns a uniformly random duration in [0, max).
func randomBelow(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(max)))
}
