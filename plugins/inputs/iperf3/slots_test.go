package iperf3

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/influxdata/telegraf/testutil"
	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/config"
	"github.com/iperfmon/iperfmon/measure"
)

// fleetRun is one test as the fake run saw it.
type fleetRun struct {
	agent, server string
	dir           string
	start, end    time.Time
}

// fleetRecorder is the run seam of every agent of a simulated fleet: each
// test takes its duration of (fake) time.
type fleetRecorder struct {
	mu   sync.Mutex
	runs []fleetRun
}

func (r *fleetRecorder) runAs(agent string) runFunc {
	return func(ctx context.Context, test measure.Test) (*measure.Result, error) {
		start := time.Now()
		if !sleep(ctx, test.Duration) {
			return nil, ctx.Err()
		}
		dir := "forward"
		if test.Reverse {
			dir = "reverse"
		}
		r.mu.Lock()
		r.runs = append(r.runs, fleetRun{agent, test.Host, dir, start, time.Now()})
		r.mu.Unlock()
		return fakeResult(test), nil
	}
}

// Agents of one fleet, each with its own process (lock registry), started
// mid-period, test in disjoint slots: no server and no agent has two tests
// at once, every (agent, server, direction) runs once per period, each at
// the start of its slot, and every point says which agent and how late.
func TestFleetAgentsShareServersWithoutOverlap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const agents, period = 3, 30 * time.Second
		servers := []string{"192.0.2.1", "192.0.2.2"}
		rec := &fleetRecorder{}
		time.Sleep(7 * time.Second) // join mid-period: the bubble starts on a boundary
		joined := time.Now()
		var plugins []*Iperf3
		var accs []*testutil.Accumulator
		for i := range agents {
			tbl := table(servers...)
			tbl.Duration = config.Duration(2 * time.Second)
			tbl.SlotGuard = config.Duration(time.Second)
			tbl.Schedule = "@every 30s"
			tbl.Splay = 0
			tbl.Fleet = []string{"probe-c", "probe-a", "probe-b"}
			tbl.Agent = fmt.Sprintf("probe-%c", 'a'+i)
			p := newPlugin(t, tbl, rec.runAs(tbl.Agent))
			acc := &testutil.Accumulator{}
			require.NoError(t, p.Start(acc))
			plugins, accs = append(plugins, p), append(accs, acc)
		}
		time.Sleep(3*period - 7*time.Second + time.Second) // up to 1s into the 4th period
		for _, p := range plugins {
			p.Stop()
			require.Zero(t, p.Skipped())
		}

		// 12 tests per period (3 agents × 2 servers × 2 directions) in
		// 6 slots of 5s; the first period only from the agent's join on.
		slotLen := period / 6
		perPeriod := map[int]map[string]int{}
		for _, r := range rec.runs {
			since := r.start.UnixNano() % int64(period)
			require.Zero(t, since%int64(slotLen), "%+v did not start on a slot boundary", r)
			n := int(r.start.Sub(joined.Add(-7*time.Second)) / period)
			if perPeriod[n] == nil {
				perPeriod[n] = map[string]int{}
			}
			perPeriod[n][r.agent+" "+r.server+" "+r.dir]++
		}
		for n := 1; n <= 2; n++ {
			require.Len(t, perPeriod[n], 12, "period %d: %v", n, perPeriod[n])
			for k, c := range perPeriod[n] {
				require.Equal(t, 1, c, "period %d: %s ran %d times", n, k, c)
			}
		}
		for k := range perPeriod[0] {
			require.Contains(t, perPeriod[1], k)
		}
		require.Less(t, len(perPeriod[0]), 12, "an agent joining at 7s cannot run the slots before it")
		for _, r := range rec.runs {
			require.False(t, r.start.Before(joined), "%+v ran before its agent started", r)
		}
		noOverlap(t, rec.runs, func(r fleetRun) string { return r.server })
		noOverlap(t, rec.runs, func(r fleetRun) string { return r.agent })

		for i, acc := range accs {
			ms := acc.GetTelegrafMetrics()
			require.NotEmpty(t, ms)
			for _, m := range ms {
				agent, _ := m.GetTag("agent")
				require.Equal(t, fmt.Sprintf("probe-%c", 'a'+i), agent)
				late, ok := m.GetField("slot_late_ms")
				require.True(t, ok, "no slot_late_ms in %v", m)
				require.InDelta(t, 0.0, late, 0.001)
			}
		}
	})
}

// noOverlap fails when two runs with the same key overlap in time.
func noOverlap(t *testing.T, runs []fleetRun, key func(fleetRun) string) {
	t.Helper()
	by := map[string][]fleetRun{}
	for _, r := range runs {
		by[key(r)] = append(by[key(r)], r)
	}
	for k, rs := range by {
		sort.Slice(rs, func(i, j int) bool { return rs[i].start.Before(rs[j].start) })
		for i := 1; i < len(rs); i++ {
			require.False(t, rs[i].start.Before(rs[i-1].end), "%s: %+v overlaps %+v", k, rs[i-1], rs[i])
		}
	}
}

// A test that overruns its slot is cut at the slot's end (the next slot's
// test may use the same server), and the test after it, whose slot has
// passed, is skipped and counted rather than run late into another slot.
func TestFleetSlotIsADeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var deadlines []time.Duration
		hang := func(ctx context.Context, test measure.Test) (*measure.Result, error) {
			mu.Lock()
			deadlines = append(deadlines, test.Timeout)
			mu.Unlock()
			<-ctx.Done()
			time.Sleep(stuckGrace + time.Second) // overruns its deadline: guardedRun abandons it
			return nil, ctx.Err()
		}
		tbl := table("192.0.2.1", "192.0.2.2")
		tbl.Directions = []string{"forward"}
		tbl.Duration = config.Duration(2 * time.Second)
		tbl.SlotGuard = config.Duration(time.Second)
		tbl.Schedule = "@every 6s"
		tbl.Fleet = []string{"probe-a"}
		tbl.Agent = "probe-a"
		tbl.BusyRetries = 0
		tbl.Latency = false
		p := newPlugin(t, tbl, hang)
		acc := &testutil.Accumulator{}
		require.NoError(t, p.Start(acc))
		time.Sleep(13 * time.Second)
		p.Stop()
		time.Sleep(stuckGrace + 2*time.Second) // let abandoned tests return
		mu.Lock()
		defer mu.Unlock()
		require.NotEmpty(t, deadlines)
		for _, d := range deadlines {
			require.LessOrEqual(t, d, 3*time.Second, "a test's deadline reaches past its slot")
		}
		for _, m := range acc.GetTelegrafMetrics() {
			result, _ := m.GetTag("result")
			require.Equal(t, "timeout", result)
		}
		require.Positive(t, p.Skipped(), "the slot after an abandoned test has passed: it must be skipped")
	})
}
