package iperf3

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/influxdata/telegraf/testutil"
	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/measure"
)

// TestHundredTargetsNoDrift is the scheduler's scale check, in real
// time: 100 targets on "@every 1s" in one process (one plugin per table,
// one shared server-lock registry, as `iperfmon run` sets them up) for
// about 5 s. Every target fires every second, close to the whole second
// cron aims at, without accumulating delay, and nothing is skipped. The
// test runner is a 20 ms stand-in: this checks the scheduler, not the
// network (test/interop covers real tests).
func TestHundredTargetsNoDrift(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time scheduler test (about 6 s)")
	}
	const (
		targets = 100
		runFor  = 5500 * time.Millisecond
		late    = 600 * time.Millisecond // tolerated lateness per firing on a loaded 2-core CI host (drift is checked apart)
	)
	var mu sync.Mutex
	starts := map[string][]time.Time{}
	run := func(ctx context.Context, test measure.Test) (*measure.Result, error) {
		now := time.Now()
		mu.Lock()
		starts[test.Host] = append(starts[test.Host], now)
		mu.Unlock()
		select {
		case <-time.After(20 * time.Millisecond):
			return fakeResult(test), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	locks := newServerLocks()
	acc := &testutil.Accumulator{}
	var plugins []*Iperf3
	for i := range targets {
		tbl := table(fmt.Sprintf("target-%03d.test", i))
		tbl.Directions = []string{"forward"}
		tbl.Schedule = "@every 1s"
		tbl.Splay = 0
		p := newPlugin(t, tbl, run, locks)
		plugins = append(plugins, p)
	}
	begin := time.Now()
	for _, p := range plugins {
		require.NoError(t, p.Start(acc))
	}
	time.Sleep(runFor)
	for _, p := range plugins {
		p.Stop()
	}

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, starts, targets, "every target must have fired")
	var worst time.Duration
	for host, ss := range starts {
		// @every 1s fires on whole seconds after the start: 4 or 5 in 5.5 s.
		require.GreaterOrEqual(t, len(ss), 4, "%s fired %d times in %s", host, len(ss), runFor)
		require.LessOrEqual(t, len(ss), 6, host)
		for k, s := range ss {
			// Lateness after the whole second this firing belongs to.
			lateness := time.Duration(s.UnixNano() % int64(time.Second))
			worst = max(worst, lateness)
			require.Less(t, lateness, late, "%s firing %d came %s after its second", host, k+1, lateness)
			if k > 0 {
				// No drift: the k-th firing is k whole seconds after the first.
				gap := s.Truncate(time.Second).Sub(ss[0].Truncate(time.Second))
				require.Equal(t, time.Duration(k)*time.Second, gap, "%s firing %d", host, k+1)
			}
		}
		require.True(t, ss[0].Sub(begin) < time.Second+late, "%s first firing %s after start", host, ss[0].Sub(begin))
	}
	for _, p := range plugins {
		require.Zero(t, p.Skipped(), "no run may be skipped: each target has its own server")
	}
	t.Logf("%d targets, worst lateness after the whole second: %s", targets, worst)
}
