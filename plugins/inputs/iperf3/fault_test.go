package iperf3

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/influxdata/telegraf/testutil"
	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/config"
	"github.com/iperfmon/iperfmon/measure"
)

// results maps each metric's server tag to its result tag.
func results(acc *testutil.Accumulator) map[string][]string {
	out := map[string][]string{}
	for _, m := range acc.GetTelegrafMetrics() {
		out[m.Tags()["server"]] = append(out[m.Tags()["server"]], m.Tags()["result"])
	}
	return out
}

// A test that panics is recovered and reported as a failed point; the
// other targets and later runs go on. Gather has no cron Recover around
// it, and cron's alone would log the panic but emit nothing.
func TestPanicIsFailedMetric(t *testing.T) {
	for _, schedule := range []string{"", "@every 10s"} {
		t.Run("schedule="+schedule, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var calls atomic.Int64
				run := func(ctx context.Context, test measure.Test) (*measure.Result, error) {
					calls.Add(1)
					if test.Host == "panic.test" {
						var streams []int
						_ = streams[len(test.Host)] // a real runtime panic: index out of range
					}
					return fakeResult(test), nil
				}
				tbl := table("panic.test", "ok.test")
				tbl.Directions = []string{"forward"}
				tbl.Schedule = schedule
				p := newPlugin(t, tbl, run)
				p.splay = func(time.Duration) time.Duration { return 0 }
				acc := &testutil.Accumulator{}
				require.NoError(t, p.Start(acc))
				for range 2 {
					if schedule == "" {
						require.NoError(t, p.Gather(acc))
					} else {
						time.Sleep(10 * time.Second)
						synctest.Wait()
					}
				}
				p.Stop()
				require.Equal(t, map[string][]string{
					"panic.test": {"protocol_error", "protocol_error"},
					"ok.test":    {"success", "success"},
				}, results(acc))
				for _, m := range acc.GetTelegrafMetrics() {
					if m.Tags()["server"] == "panic.test" {
						msg, _ := m.GetField("error")
						require.Contains(t, msg, "internal error: panic: runtime error: index out of range")
						code, _ := m.GetField("result_code")
						require.Equal(t, int64(measure.CodeProtocolError), code)
					}
				}
				require.Equal(t, int64(4), calls.Load())
			})
		})
	}
}

// A target that hangs is cut at its deadline and the next target of the
// same run still runs and is measured. "honours ctx" is a silent server
// (the client returns at the deadline); "ignores ctx" is a run function
// that never returns: it is abandoned stuckGrace after the deadline.
func TestHangingTargetIsCut(t *testing.T) {
	for _, tc := range []struct {
		name       string
		honoursCtx bool
		cut        time.Duration // when the hanging test ends, from its start
	}{
		{"honours ctx", true, 6 * time.Second},
		{"ignores ctx", false, 6*time.Second + stuckGrace},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				var okStart time.Time
				run := func(ctx context.Context, test measure.Test) (*measure.Result, error) {
					if test.Host != "hang.test" {
						okStart = time.Now()
						return fakeResult(test), nil
					}
					if tc.honoursCtx {
						<-ctx.Done()
						return nil, &measure.Error{Code: measure.CodeTimeout, Op: "control: read state", Err: ctx.Err()}
					}
					<-release // stuck regardless of ctx
					return nil, nil
				}
				tbl := table("hang.test", "ok.test")
				tbl.Directions = []string{"forward"}
				tbl.Duration = config.Duration(time.Second)
				tbl.Timeout = config.Duration(6 * time.Second)
				p := newPlugin(t, tbl, run)
				acc := &testutil.Accumulator{}
				begin := time.Now()
				require.NoError(t, p.RunOnce(t.Context(), acc))
				require.Equal(t, tc.cut, okStart.Sub(begin), "the next target started when the hanging one was cut")
				require.Equal(t, map[string][]string{"hang.test": {"timeout"}, "ok.test": {"success"}}, results(acc))
				close(release)
			})
		})
	}
}

// A table whose server hangs does not delay another table's tests to a
// different server: they keep their schedule while the hang lasts.
func TestHangingTableDoesNotBlockOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		locks := newServerLocks()
		hang := func(ctx context.Context, test measure.Test) (*measure.Result, error) {
			<-ctx.Done()
			return nil, &measure.Error{Code: measure.CodeTimeout, Op: "data", Err: ctx.Err()}
		}
		var starts []time.Duration
		begin := time.Now()
		ok := func(ctx context.Context, test measure.Test) (*measure.Result, error) {
			starts = append(starts, time.Since(begin))
			return fakeResult(test), nil
		}
		a := table("hang.test")
		a.Directions = []string{"forward"}
		a.Schedule = "@every 30s"
		a.Timeout = config.Duration(25 * time.Second)
		b := table("ok.test")
		b.Directions = []string{"forward"}
		b.Schedule = "@every 5s"
		pa, pb := newPlugin(t, a, hang, locks), newPlugin(t, b, ok, locks)
		pa.splay, pb.splay = func(time.Duration) time.Duration { return 0 }, func(time.Duration) time.Duration { return 0 }
		accA, accB := &testutil.Accumulator{}, &testutil.Accumulator{}
		require.NoError(t, pa.Start(accA))
		require.NoError(t, pb.Start(accB))
		time.Sleep(59 * time.Second)
		synctest.Wait()
		pa.Stop()
		pb.Stop()
		// b ran at 5, 10, ... 55 s, during both of a's 25 s hangs.
		want := []time.Duration{}
		for s := 5; s < 60; s += 5 {
			want = append(want, time.Duration(s)*time.Second)
		}
		require.Equal(t, want, starts)
		require.Equal(t, map[string][]string{"hang.test": {"timeout"}}, results(accA), "the 30 s run was cut at 25 s; the 60 s one was stopped")
	})
}
