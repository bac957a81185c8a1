package iperf3

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/influxdata/telegraf"
	"github.com/robfig/cron/v3"

	"github.com/iperfmon/iperfmon/config"
)

// slotPlan is this agent's share of a fleet or mesh period: every target's
// slot, computed by config from the shared table alone.
type slotPlan struct {
	period cron.Schedule // starts of periods, wall-clock aligned
	count  int           // slots per period
	slots  []int         // per target
	order  []int         // target indexes by slot
}

func newSlotPlan(t *config.Table, targets []config.Target) (*slotPlan, error) {
	if !t.Slotted() {
		return nil, nil
	}
	period, err := t.Period()
	if err != nil {
		return nil, err
	}
	slots, count := t.Slots(targets)
	order := make([]int, len(targets))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return slots[a] - slots[b] })
	return &slotPlan{period: period, count: count, slots: slots, order: order}, nil
}

// next returns the first of this agent's slots that starts after after:
// the target's index and the slot's start and end. A period is cut into
// count equal slots, so a period longer than the slots need spreads them.
func (pl *slotPlan) next(after time.Time) (idx int, start, end time.Time, ok bool) {
	p0 := config.PeriodStart(pl.period, after)
	if p0.IsZero() {
		p0 = after
	}
	for range 3 { // this period, else the next (twice: p0 may be after itself)
		p1 := pl.period.Next(p0)
		if p1.IsZero() {
			return 0, time.Time{}, time.Time{}, false
		}
		length := p1.Sub(p0) / time.Duration(pl.count)
		for _, i := range pl.order {
			s := p0.Add(time.Duration(pl.slots[i]) * length)
			if s.After(after) {
				return i, s, s.Add(length), true
			}
		}
		p0 = p1
	}
	return 0, time.Time{}, time.Time{}, false
}

// slotLoop runs this agent's tests, each at the start of its slot, until
// ctx ends. An agent that starts mid-period joins at its next slot.
func (p *Iperf3) slotLoop(ctx context.Context, acc telegraf.Accumulator) {
	cursor := time.Now()
	for {
		idx, start, end, ok := p.plan.next(cursor)
		if !ok {
			p.Log.Errorf("schedule %q has no further runs; fleet tests stop", p.Schedule)
			return
		}
		cursor = start
		if !sleep(ctx, time.Until(start)) {
			return
		}
		p.runSlot(ctx, acc, idx, start, end)
	}
}

// runSlot runs one target in its slot [start, end): never past end, so
// that it cannot overlap the next slot's test on the same server or agent.
// A test that can no longer fit (an earlier one overran, or the process
// was paused) is skipped and counted.
func (p *Iperf3) runSlot(ctx context.Context, acc telegraf.Accumulator, idx int, start, end time.Time) {
	target := p.targets[idx]
	need := target.Test.Duration + target.Test.Omit
	release, err := p.locks.acquire(ctx, target.Key(), end.Add(-need))
	if errors.Is(err, errSlotPassed) {
		p.skipped.Add(1)
		p.skipStat.Incr(1)
		p.Log.Warnf("skipped %s %s: its slot %s–%s passed before it could start (an earlier test overran, or the agent was paused)",
			target.Addr(), target.Direction, start.Format(time.RFC3339), end.Format("15:04:05"))
		return
	}
	if err != nil {
		return // stopping
	}
	defer release()
	late := time.Since(start)
	p.lastStart[idx].Store(time.Now().UnixNano())
	target.Test.Timeout = min(target.Test.Timeout, time.Until(end))
	testStart, res, err := p.runTest(ctx, target)
	if ctx.Err() != nil {
		p.Log.Debugf("test of %s %s cancelled: %v", target.Addr(), target.Direction, err)
		return
	}
	p.emit(acc, target, testStart, res, err, &late)
}
