// Package retry is the one policy for trying an iperf3 test again, shared
// by the plugin's scheduled tests, iperfmon exporter's probes and
// iperfmon check.
package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"syscall"
	"time"

	"github.com/iperfmon/iperfmon/measure"
)

// Retries of a refused or reset connection. Stock iperf3 closes its
// listening socket at the end of every test and opens a new one, so a test
// that follows another on the same server (forward, then reverse) can be
// refused for a moment. Retrying for about 1.5 s keeps that from being
// reported as connection_failed; a dead server costs 1.5 s more.
const (
	RefusedRetries = 5
	RefusedBackoff = 50 * time.Millisecond
)

// Policy says when to run a test again: a busy server (iperf3 runs one test
// at a time, so "busy" says nothing about the path) up to Busy times after
// jittered waits doubling from Backoff, and a refused or reset connection
// briefly (see RefusedRetries); in both cases only while a whole test
// still fits before the test's deadline.
type Policy struct {
	Busy    int
	Backoff time.Duration
	Jitter  func(time.Duration) time.Duration // nil: Jitter
	Debugf  func(format string, args ...any)  // nil: silent
}

// Run runs test with run until it succeeds, fails for good, or no retry
// fits before test.Timeout from now; each attempt gets the time left as
// its Timeout. start is when the attempt that produced the outcome began.
func (p Policy) Run(ctx context.Context, test measure.Test, run func(context.Context, measure.Test) (*measure.Result, error)) (start time.Time, res *measure.Result, err error) {
	test = test.WithDefaults() // a zero Timeout is duration + omit + 15s
	ctx, cancel := context.WithTimeout(ctx, test.Timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	jitter, debugf := p.Jitter, p.Debugf
	if jitter == nil {
		jitter = Jitter
	}
	if debugf == nil {
		debugf = func(string, ...any) {}
	}
	busy, refused := 0, 0
	busyWait, refusedWait := p.Backoff, RefusedBackoff
	for {
		start = time.Now()
		test.Timeout = deadline.Sub(start)
		res, err = run(ctx, test)
		if err == nil {
			return start, res, nil
		}
		var wait time.Duration
		switch {
		case measure.Classify(err) == measure.CodeServerBusy && busy < p.Busy:
			busy++
			wait = jitter(busyWait)
			busyWait *= 2
			debugf("server busy; retry %d of %d in %s", busy, p.Busy, wait.Round(time.Millisecond))
		case res == nil && refused < RefusedRetries && (errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)):
			refused++
			wait = refusedWait
			refusedWait *= 2
			debugf("%v; retry in %s (the server may be reopening its socket after a test)", err, wait)
		default:
			return start, res, err
		}
		// A retry needs the whole test's time after the wait.
		if time.Until(deadline) < wait+test.Duration+test.Omit+time.Second {
			debugf("no time left for a retry before the deadline")
			return start, res, err
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return start, res, err
		}
	}
}

// Jitter spreads d uniformly over [d/2, 3d/2), so that clients that met
// the same busy server do not come back together.
func Jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d/2 + time.Duration(rand.Int64N(int64(d)))
}
