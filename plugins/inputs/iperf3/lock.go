package iperf3

import (
	"context"
	"errors"
	"sync"
	"time"
)

// errSlotPassed means a test could not start before its run's slot ended
// (the next scheduled run was due).
var errSlotPassed = errors.New("the next scheduled run is due")

// servers serialises tests per server (host:port) across every table and
// plugin instance in the process: iperf3 servers run one test at a time.
var servers = newServerLocks()

func newServerLocks() *serverLocks { return &serverLocks{m: map[string]chan struct{}{}} }

type serverLocks struct {
	mu sync.Mutex
	m  map[string]chan struct{} // one-slot semaphore per server key
}

func (l *serverLocks) slot(key string) chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	ch, ok := l.m[key]
	if !ok {
		ch = make(chan struct{}, 1)
		l.m[key] = ch
	}
	return ch
}

// acquire waits for the server key to be free. It gives up with
// errSlotPassed at deadline (zero: no deadline) or with ctx's error. The
// returned release must be called exactly once.
func (l *serverLocks) acquire(ctx context.Context, key string, deadline time.Time) (release func(), err error) {
	ch := l.slot(key)
	release = func() { <-ch }
	if !deadline.IsZero() && !time.Now().Before(deadline) {
		return nil, errSlotPassed
	}
	select { // free right now: no timer needed
	case ch <- struct{}{}:
		return release, nil
	default:
	}
	var expired <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		expired = t.C
	}
	select {
	case ch <- struct{}{}:
		return release, nil
	case <-expired:
		return nil, errSlotPassed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
