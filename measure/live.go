package measure

import "sync"

// Live reports: a running test's start and each interval, as iperf3 prints
// them while it runs. The sampler cuts an interval and queues it; one
// goroutine per test calls the caller's hook, so that a slow consumer
// (a blocked stdout) delays neither the data streams nor the sampler's
// clock. The data path itself never sees the hooks.

// liveQueue is how many reports may wait for a slow hook before the
// sampler waits too (at 0.1 s intervals, 6 s of output).
const liveQueue = 64

// liveFeed calls queued hooks in order on a goroutine of its own.
type liveFeed struct {
	mu     sync.Mutex
	closed bool
	ch     chan func()
	done   chan struct{}
}

// newLiveFeed starts a feed; nil when there is no hook to feed.
func newLiveFeed(any bool) *liveFeed {
	if !any {
		return nil
	}
	f := &liveFeed{ch: make(chan func(), liveQueue), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		for fn := range f.ch {
			fn()
		}
	}()
	return f
}

// send queues fn; after close it is dropped.
func (f *liveFeed) send(fn func()) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.ch <- fn
	}
}

// close waits until every queued hook has run.
func (f *liveFeed) close() {
	if f == nil {
		return
	}
	f.mu.Lock()
	if !f.closed {
		f.closed = true
		close(f.ch)
	}
	f.mu.Unlock()
	<-f.done
}

// liveDirections is this end's streams grouped by direction as
// buildDirections groups them (Forward first), each stream carrying its
// newest interval when withInterval is set, and each direction that
// interval's sum. Sampler-owned state is read: call it from the sampler
// or after Stop.
func (d *dataPhase) liveDirections(withInterval bool) []DirectionResult {
	var per [2][]StreamResult
	for _, s := range d.streams {
		dir := 0
		if s.Sender != d.cfg.isClient {
			dir = 1
		}
		sr := StreamResult{ID: s.ID, Sender: s.Sender}
		if withInterval && len(s.intervals) > 0 {
			sr.Intervals = []Interval{s.intervals[len(s.intervals)-1]}
		}
		per[dir] = append(per[dir], sr)
	}
	var out []DirectionResult
	for i, dir := range []Direction{Forward, Reverse} {
		if len(per[i]) == 0 {
			continue
		}
		dr := DirectionResult{Direction: dir, Streams: per[i]}
		if withInterval {
			dr.Intervals = sumIntervals(per[i])
		}
		out = append(out, dr)
	}
	return out
}

// reportInterval hands the interval just cut to the hook, if any.
func (d *dataPhase) reportInterval() {
	if d.cfg.onInterval != nil {
		d.cfg.onInterval(d, d.liveDirections(true))
	}
}
