package measure

import "time"

// pacer is a token bucket for one sending stream. Tokens are bytes; a block
// may go out while the bucket is positive, so the debt of one block is paid
// by waiting. The clock is read once per refill (one batch), not per block.
//
// Timers shorter than a millisecond round up to about 1 ms in Go, so each
// wake-up releases roughly a millisecond's worth of blocks. After a stall
// (a busy host delays timers by tens of ms) the bucket catches up, as
// iperf3's average-since-start throttle does, but by at most pacerBurst so
// that a long stall does not end in one huge burst.
type pacer struct {
	rate   float64 // bytes per second
	burst  float64
	tokens float64
	last   time.Time
	timer  *time.Timer
}

// pacerBurst is the longest stall the bucket makes up for.
const pacerBurst = 500 * time.Millisecond

// newPacer returns nil when bitsPerSecond is unlimited (<= 0).
func newPacer(bitsPerSecond int64, length int, start time.Time) *pacer {
	if bitsPerSecond <= 0 {
		return nil
	}
	rate := float64(bitsPerSecond) / 8
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &pacer{
		rate:  rate,
		burst: max(rate*pacerBurst.Seconds(), 2*float64(length)),
		last:  start,
		timer: t,
	}
}

// wait blocks until a block may be sent. It returns false when quit closes.
func (p *pacer) wait(quit <-chan struct{}) bool {
	for p.tokens <= 0 {
		now := time.Now()
		p.tokens = min(p.tokens+now.Sub(p.last).Seconds()*p.rate, p.burst)
		p.last = now
		if p.tokens > 0 {
			break
		}
		p.timer.Reset(time.Duration(-p.tokens / p.rate * float64(time.Second)))
		select {
		case <-p.timer.C:
		case <-quit:
			p.timer.Stop()
			return false
		}
	}
	return true
}

// spend takes n bytes from the bucket.
func (p *pacer) spend(n int) { p.tokens -= float64(n) }
