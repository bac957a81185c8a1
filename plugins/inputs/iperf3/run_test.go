package iperf3

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/influxdata/telegraf/testutil"
	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/config"
	"github.com/iperfmon/iperfmon/measure"
)

// recorder is a fake test runner: each test takes d (fake time inside a
// synctest bubble) and records when it ran and how many ran at once per
// server.
type recorder struct {
	d time.Duration

	mu      sync.Mutex
	active  map[string]int
	maxSeen int
	starts  []time.Time
	busy    int // answer busy this many times first
	refuse  int // then refuse the connection this many times
	started chan struct{}
}

func newRecorder(d time.Duration) *recorder {
	return &recorder{d: d, active: map[string]int{}, started: make(chan struct{}, 100)}
}

func (r *recorder) run(ctx context.Context, test measure.Test) (*measure.Result, error) {
	key := fmt.Sprintf("%s:%d", test.Host, test.Port)
	r.mu.Lock()
	r.starts = append(r.starts, time.Now())
	if r.busy > 0 {
		r.busy--
		r.mu.Unlock()
		return nil, &measure.Error{Code: measure.CodeServerBusy, Op: "control: read state", Err: measure.ErrServerBusy}
	}
	if r.refuse > 0 {
		r.refuse--
		r.mu.Unlock()
		return nil, &measure.Error{Code: measure.CodeConnectionFailed, Op: "control: connect",
			Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	}
	r.active[key]++
	r.maxSeen = max(r.maxSeen, r.active[key])
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.active[key]--
		r.mu.Unlock()
	}()
	select {
	case r.started <- struct{}{}:
	default:
	}
	select {
	case <-time.After(r.d):
		return fakeResult(test), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (r *recorder) startTimes() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.starts...)
}

// A busy server is retried with exponential backoff, inside the deadline,
// and the point is stamped with the start of the attempt that answered.
func TestBusyRetries(t *testing.T) {
	for _, tc := range []struct {
		name     string
		busy     int
		retries  int
		backoff  time.Duration
		attempts []time.Duration // since the first attempt
		result   string
	}{
		{name: "succeeds after two busy answers", busy: 2, retries: 3, backoff: time.Second,
			attempts: []time.Duration{0, time.Second, 3 * time.Second}, result: "success"},
		{name: "gives up after busy_retries", busy: 100, retries: 3, backoff: time.Second,
			attempts: []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second}, result: "server_busy"},
		{name: "no retry that would not fit before the deadline", busy: 100, retries: 3, backoff: 5 * time.Second,
			attempts: []time.Duration{0, 5 * time.Second}, result: "server_busy"},
		{name: "no retries", busy: 100, retries: 0, backoff: time.Second,
			attempts: []time.Duration{0}, result: "server_busy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := newRecorder(time.Second)
				rec.busy = tc.busy
				tbl := table("busy.test")
				tbl.Directions = []string{"forward"}
				tbl.BusyRetries = tc.retries
				tbl.BusyBackoff = config.Duration(tc.backoff)
				p := newPlugin(t, tbl, rec.run)
				p.jitter = func(d time.Duration) time.Duration { return d } // exact backoff

				acc := &testutil.Accumulator{}
				begin := time.Now()
				require.NoError(t, p.Gather(acc))
				starts := rec.startTimes()
				var got []time.Duration
				for _, s := range starts {
					got = append(got, s.Sub(begin))
				}
				require.Equal(t, tc.attempts, got)
				ms := acc.GetTelegrafMetrics()
				require.Len(t, ms, 1)
				require.Equal(t, tc.result, ms[0].Tags()["result"])
				require.Equal(t, starts[len(starts)-1], ms[0].Time())
			})
		})
	}
}

// A refused connection is retried briefly (stock iperf3 reopens its
// listener after each test), then reported as connection_failed.
func TestRefusedRetries(t *testing.T) {
	for _, tc := range []struct {
		name     string
		refuse   int
		busy     int
		attempts []time.Duration
		result   string
	}{
		{name: "listener back after 150ms", refuse: 2,
			attempts: []time.Duration{0, 50 * time.Millisecond, 150 * time.Millisecond}, result: "success"},
		{name: "dead server", refuse: 100, result: "connection_failed",
			attempts: []time.Duration{0, 50 * time.Millisecond, 150 * time.Millisecond, 350 * time.Millisecond,
				750 * time.Millisecond, 1550 * time.Millisecond}},
		{name: "busy then refused then success", busy: 1, refuse: 1, result: "success",
			attempts: []time.Duration{0, time.Second, time.Second + 50*time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := newRecorder(time.Second)
				rec.busy, rec.refuse = tc.busy, tc.refuse
				tbl := table("refused.test")
				tbl.Directions = []string{"forward"}
				tbl.BusyBackoff = config.Duration(time.Second)
				p := newPlugin(t, tbl, rec.run)
				p.jitter = func(d time.Duration) time.Duration { return d }
				acc := &testutil.Accumulator{}
				begin := time.Now()
				require.NoError(t, p.Gather(acc))
				var got []time.Duration
				for _, s := range rec.startTimes() {
					got = append(got, s.Sub(begin))
				}
				require.Equal(t, tc.attempts, got)
				ms := acc.GetTelegrafMetrics()
				require.Len(t, ms, 1)
				require.Equal(t, tc.result, ms[0].Tags()["result"])
			})
		})
	}
}

// A failed test still writes one point per direction.
func TestGatherFailureIsData(t *testing.T) {
	tbl := table("fail.test", "fail.test:5202")
	tbl.Directions = []string{"forward", "bidir"}
	p := newPlugin(t, tbl, func(context.Context, measure.Test) (*measure.Result, error) {
		return nil, &measure.Error{Code: measure.CodeConnectionFailed, Op: "control: connect", Err: fmt.Errorf("connection refused")}
	})
	acc := &testutil.Accumulator{}
	require.NoError(t, p.Gather(acc))
	require.NoError(t, acc.FirstError())
	ms := acc.GetTelegrafMetrics()
	require.Len(t, ms, 6) // 2 servers × (forward + bidir's two directions)
	for _, m := range ms {
		require.Equal(t, "connection_failed", m.Tags()["result"])
		code, _ := m.GetField("result_code")
		require.Equal(t, int64(1), code)
		msg, _ := m.GetField("error")
		require.Equal(t, "control: connect: connection refused", msg)
	}
}

// RunOnce runs every test at once, without splay.
func TestRunOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder(2 * time.Second)
		tbl := table("once-a.test", "once-b.test")
		tbl.Splay = config.Duration(time.Hour)
		p := newPlugin(t, tbl, rec.run)
		p.splay = func(time.Duration) time.Duration { panic("RunOnce must not splay") }
		acc := &testutil.Accumulator{}
		begin := time.Now()
		require.NoError(t, p.RunOnce(t.Context(), acc))
		require.Equal(t, 8*time.Second, time.Since(begin)) // 4 tests of 2s, one after the other
		require.Len(t, acc.GetTelegrafMetrics(), 4)

		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		require.ErrorIs(t, p.RunOnce(ctx, acc), context.Canceled)
	})
}

// Splay delays each run by a random time within [0, splay).
func TestSplayBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder(0)
		tbl := table("splay.test")
		tbl.Directions = []string{"forward"}
		tbl.Splay = config.Duration(10 * time.Second)
		p := newPlugin(t, tbl, rec.run)
		acc := &testutil.Accumulator{}
		var delays []time.Duration
		for range 200 {
			begin := time.Now()
			require.NoError(t, p.Gather(acc))
			delays = append(delays, time.Since(begin))
		}
		var largest time.Duration
		for _, d := range delays {
			require.GreaterOrEqual(t, d, time.Duration(0))
			require.Less(t, d, 10*time.Second)
			largest = max(largest, d)
		}
		require.Greater(t, largest, 5*time.Second, "splay should spread runs over its range")
	})
}

// @every 1s with a 2s test: runs never overlap; those whose slot passes
// are skipped and counted.
func TestScheduleNoOverlap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder(2 * time.Second)
		tbl := table("overlap.test")
		tbl.Directions = []string{"forward"}
		tbl.Schedule = "@every 1s"
		tbl.Splay = 1 // counts runs through the seam below
		p := newPlugin(t, tbl, rec.run)
		var mu sync.Mutex
		invocations := 0
		p.splay = func(time.Duration) time.Duration {
			mu.Lock()
			invocations++
			mu.Unlock()
			return 0
		}
		acc := &testutil.Accumulator{}
		require.NoError(t, p.Start(acc))
		acc.Wait(4)
		p.Stop()

		executed := int64(len(acc.GetTelegrafMetrics()))
		require.Equal(t, 1, rec.maxSeen, "tests of one server overlapped")
		require.Positive(t, p.Skipped())
		mu.Lock()
		defer mu.Unlock()
		// Every run ran, was skipped, or was waiting when Stop came.
		require.LessOrEqual(t, executed+p.Skipped(), int64(invocations))
		require.GreaterOrEqual(t, executed+p.Skipped()+2, int64(invocations))
		// Tests start back to back, 2s apart.
		starts := rec.startTimes()
		for i := 1; i < len(starts); i++ {
			require.GreaterOrEqual(t, starts[i].Sub(starts[i-1]), 2*time.Second)
		}
	})
}

// A table whose tests outlast its schedule still measures every target:
// each run takes the targets least recently started first.
func TestSkippedTargetsGoFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder(2 * time.Second)
		tbl := table("starve.test")
		tbl.Directions = []string{"forward", "reverse"}
		tbl.Schedule = "@every 1s"
		p := newPlugin(t, tbl, rec.run)
		acc := &testutil.Accumulator{}
		require.NoError(t, p.Start(acc))
		acc.Wait(6)
		p.Stop()
		count := map[string]int{}
		for _, m := range acc.GetTelegrafMetrics() {
			count[m.Tags()["direction"]]++
		}
		require.Positive(t, p.Skipped())
		require.GreaterOrEqual(t, count["forward"], 2, "directions measured: %v", count)
		require.GreaterOrEqual(t, count["reverse"], 2, "directions measured: %v", count)
	})
}

// Two tables that test the same server take turns.
func TestTwoTablesSameServerSerialize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecorder(2 * time.Second)
		locks := newServerLocks()
		var plugins []*Iperf3
		accs := []*testutil.Accumulator{{}, {}}
		for i := range 2 {
			tbl := table("shared.test")
			tbl.Protocol = []string{"tcp", "udp"}[i]
			tbl.Directions = []string{"forward"}
			tbl.Schedule = "@every 5s"
			p := newPlugin(t, tbl, rec.run, locks)
			require.NoError(t, p.Start(accs[i]))
			plugins = append(plugins, p)
		}
		accs[0].Wait(3)
		accs[1].Wait(3)
		for _, p := range plugins {
			p.Stop()
		}
		require.Equal(t, 1, rec.maxSeen, "tests of one server overlapped")
		require.Zero(t, plugins[0].Skipped()+plugins[1].Skipped(), "4s of tests fit in each 5s slot")
	})
}

// Stop during a test cancels it, writes no point for it, returns at once
// and leaves no goroutine behind (synctest fails on leaked goroutines).
func TestStopDuringTest(t *testing.T) {
	for _, schedule := range []string{"@every 1s", ""} {
		t.Run("schedule="+schedule, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := newRecorder(time.Hour)
				tbl := table("stop.test")
				tbl.Schedule = schedule
				p := newPlugin(t, tbl, rec.run)
				acc := &testutil.Accumulator{}
				require.NoError(t, p.Start(acc))
				gathered := make(chan struct{})
				if schedule == "" {
					go func() {
						defer close(gathered)
						_ = p.Gather(acc)
					}()
				} else {
					close(gathered)
				}
				<-rec.started
				begin := time.Now()
				p.Stop()
				require.Zero(t, time.Since(begin))
				<-gathered
				require.Empty(t, acc.GetTelegrafMetrics())
			})
		})
	}
}

// Log output of cron goes to Telegraf's logger, Info as Debug.
func TestCronLogger(t *testing.T) {
	log := &testutil.CaptureLogger{}
	l := cronLogger{log}
	l.Info("wake", "now", 1)
	l.Error(fmt.Errorf("boom"), "panic", "stack")
	msgs := log.Messages()
	require.Len(t, msgs, 2)
	require.Equal(t, byte('D'), msgs[0].Level)
	require.Contains(t, msgs[0].Text, "cron: wake now=1")
	require.Equal(t, byte('E'), msgs[1].Level)
	require.Contains(t, msgs[1].Text, "cron: panic: boom stack")
}

// Start says when a schedule first runs: an hourly table is otherwise
// silent for up to an hour.
func TestStartLogsFirstRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tbl := table("first.test")
		tbl.Schedule = "0 * * * *"
		p := newPlugin(t, tbl, newRecorder(0).run)
		log := &testutil.CaptureLogger{}
		p.Log = log
		require.NoError(t, p.Start(&testutil.Accumulator{}))
		defer p.Stop()
		now := time.Now()
		next := time.Date(now.Year(), now.Month(), now.Day(), now.Hour()+1, 0, 0, 0, time.Local)
		var infos []string // cron's own "start" comes at debug level, when it likes
		for _, m := range log.Messages() {
			if m.Level == 'I' {
				infos = append(infos, m.Text)
			}
		}
		require.Equal(t, []string{fmt.Sprintf(`schedule "0 * * * *": 2 test(s), first run at %s`, next.Format(time.RFC3339))}, infos)
	})
}

// A probe that cannot run (no ICMP rights) leaves the latency fields out,
// keeps the result a success and warns once, not on every test.
func TestLatencyUnavailableWarnsOnce(t *testing.T) {
	tbl := table("a.test", "b.test")
	tbl.Directions = []string{"forward"}
	p := newPlugin(t, tbl, func(_ context.Context, test measure.Test) (*measure.Result, error) {
		res := fakeResult(test)
		res.Latency = &measure.Latency{Target: "192.0.2.1", Unavailable: "no ICMP socket: operation not permitted"}
		return res, nil
	})
	log := &testutil.CaptureLogger{}
	p.Log = log
	for range 2 {
		acc := &testutil.Accumulator{}
		require.NoError(t, p.RunOnce(t.Context(), acc))
		ms := acc.GetTelegrafMetrics()
		require.Len(t, ms, 2)
		for _, m := range ms {
			require.Equal(t, "success", m.Tags()["result"])
			for _, k := range []string{"idle_rtt_ms", "loaded_rtt_ms", "rtt_increase_ms"} {
				require.NotContains(t, m.Fields(), k)
			}
		}
	}
	var warns []string
	for _, m := range log.Messages() {
		if m.Level == 'W' {
			warns = append(warns, m.Text)
		}
	}
	require.Len(t, warns, 1)
	require.Contains(t, warns[0], "operation not permitted")
	require.Contains(t, warns[0], "latency = false")
}
