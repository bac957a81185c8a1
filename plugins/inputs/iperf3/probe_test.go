package iperf3

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/config"
	"github.com/iperfmon/iperfmon/measure"
)

// A probe shares the server locks of the scheduled tables: while another
// test holds the server, a probe that could not finish before its deadline
// reports server_busy without running; one that can waits and runs.
func TestProbeSharesServerLocks(t *testing.T) {
	locks := newServerLocks()
	var runs atomic.Int32
	run := func(ctx context.Context, test measure.Test) (*measure.Result, error) {
		runs.Add(1)
		return fakeResult(test), nil
	}
	tbl := table("127.0.0.1:5201")
	tbl.Directions = []string{config.DirectionForward}
	tbl.Duration = config.Duration(time.Second)
	p := newPlugin(t, tbl, run, locks)
	targets := p.Targets()

	release, err := locks.acquire(context.Background(), targets[0].Key(), time.Time{})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	ms := p.Probe(ctx, targets)
	require.Len(t, ms, 1)
	require.Equal(t, "server_busy", ms[0].Tags()["result"])
	e, _ := ms[0].GetField("error")
	require.Contains(t, e, "from this process")
	require.Zero(t, runs.Load(), "a probe that cannot finish in time never dials")

	// Freed in time: the probe waits and runs.
	time.AfterFunc(200*time.Millisecond, release)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	ms = p.Probe(ctx2, targets)
	require.Len(t, ms, 1)
	require.Equal(t, "success", ms[0].Tags()["result"])
	require.EqualValues(t, 1, runs.Load())
}

// A busy server is retried as for a scheduled test.
func TestProbeRetriesBusy(t *testing.T) {
	var runs atomic.Int32
	run := func(ctx context.Context, test measure.Test) (*measure.Result, error) {
		if runs.Add(1) == 1 {
			return nil, &measure.Error{Code: measure.CodeServerBusy, Op: "control", Err: measure.ErrServerBusy}
		}
		return fakeResult(test), nil
	}
	tbl := table("127.0.0.1:5201")
	tbl.Directions = []string{config.DirectionReverse}
	tbl.Duration = config.Duration(time.Second)
	tbl.BusyBackoff = config.Duration(100 * time.Millisecond)
	p := newPlugin(t, tbl, run)
	p.jitter = func(d time.Duration) time.Duration { return d }
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ms := p.Probe(ctx, p.Targets())
	require.Len(t, ms, 1)
	require.Equal(t, "success", ms[0].Tags()["result"])
	require.Equal(t, "reverse", ms[0].Tags()["direction"])
	require.EqualValues(t, 2, runs.Load())
}

// Telegraf reads alias for itself (log and internal metric names) and still
// decodes the whole table into the plugin, so the exporter's module name and
// allowed_targets mean the same in telegraf.conf and in iperfmon's config.
func TestAliasThroughTelegraf(t *testing.T) {
	plugins, err := loadWithTelegraf(t, "[[inputs.iperf3]]\n  alias = \"wan\"\n  servers = [\"192.0.2.7\"]\n  allowed_targets = [\"192.0.2.0/24\"]\n")
	require.NoError(t, err)
	require.Len(t, plugins, 1)
	require.Equal(t, "wan", plugins[0].Alias)
	require.Equal(t, []string{"192.0.2.0/24"}, plugins[0].AllowedTargets)
	require.NoError(t, plugins[0].Init())
}
