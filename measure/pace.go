package measure

import "time"

// pacer is a token bucket for one sending stream. Tokens are bytes; a block
// may go out while the bucket is positive, so the debt of one block is paid
// by waiting. The clock is read once per refill (one batch), not per block.
//
// The bucket is shallow on purpose: what a sender releases at once leaves
// back to back, and a policer or shallow buffer on the path drops the tail
// of a burst deeper than its own bucket although the average rate fits.
// So the bucket holds at most depth bytes (paceQuantum of rate, at least
// paceMinBurst blocks), and a wake-up releases only what accrued while the
// sender slept. Sleeps are fine-grained where the platform allows it
// (pace_linux.go: nanosleep), not Go's ~1 ms timer.
//
// Tokens that would overflow the bucket (the sender was descheduled, or
// blocked on a full socket buffer) become debt, up to pacerBurst of rate.
// Debt is repaid on top of the rate at 1/paceCatchUp of it, so that a
// stall neither costs the test its average (iperf3 makes up for stalls too,
// by pacing on the average since the start) nor ends in a burst.
type pacer struct {
	rate    float64 // bytes per second
	depth   float64 // the most that may leave back to back
	release float64 // a wake-up waits for this much (at least one block)
	length  float64
	maxDebt float64
	tokens  float64
	debt    float64
	last    time.Time
	timer   *time.Timer
	fine    fineSleeper
	// omitDone closes at the end of -O: the debt of the omitted seconds
	// is forgiven then, as iperf3 restarts its average there, so that the
	// measured seconds do not carry its repayment (an overshoot of -b).
	omitDone <-chan struct{}
}

const (
	// pacerBurst is the longest stall the pacer makes up for.
	pacerBurst = 500 * time.Millisecond
	// paceQuantum is the bucket's depth in time of rate: 31 KB at
	// 1 Gbit/s, 3 KB at 100 Mbit/s.
	paceQuantum = 250 * time.Microsecond
	// paceWake is how much rate one wake-up releases: each sleep costs a
	// few µs of CPU (a timer and two context switches, more in a VM),
	// so a datagram per sleep would cost more than the datagrams; 100 µs
	// is 4 datagrams of 1400 bytes at 450 Mbit/s, 10,000 wake-ups a second.
	paceWake = 100 * time.Microsecond
	// paceMinBurst is the bucket's least depth, in blocks: a datagram
	// must fit, and at low rates a few may go together.
	paceMinBurst = 4
	// paceCatchUp: debt is repaid at rate/paceCatchUp on top of the rate:
	// 6.25 %, below the headroom of a link loaded to 94 %, which then
	// never sees more than the bucket at once. Faster repayment meets -b
	// on a busier host but puts the debt on the wire: at 1/8 the capture
	// of a sender on a host at load 16 needed a 190-930 KB bucket at
	// -b/0.9 (docs/accuracy.md, "Pacing").
	paceCatchUp = 16
)

// newPacer returns nil when bitsPerSecond is unlimited (<= 0).
func newPacer(bitsPerSecond int64, length int, start time.Time) *pacer {
	if bitsPerSecond <= 0 {
		return nil
	}
	rate := float64(bitsPerSecond) / 8
	size := float64(max(length, 1))
	t := time.NewTimer(time.Hour)
	t.Stop()
	depth := max(rate*paceQuantum.Seconds(), paceMinBurst*size)
	return &pacer{
		rate:    rate,
		depth:   depth,
		release: min(max(rate*paceWake.Seconds(), size), depth),
		length:  size,
		maxDebt: rate * pacerBurst.Seconds(),
		last:    start,
		timer:   t,
		fine:    newFineSleeper(),
	}
}

// deep makes the bucket as deep as the longest stall the pacer makes up
// for, and returns p. For TCP: its blocks go into the socket buffer, and
// the kernel's congestion control, not the pacer, decides what leaves back
// to back; what the pacer holds back after a stall (a loss recovery that
// filled the buffer) would only be missing from the average.
func (p *pacer) deep() *pacer {
	if p != nil {
		p.depth = max(p.depth, p.maxDebt)
	}
	return p
}

// forgiveAt makes the pacer drop its debt when omitDone closes.
func (p *pacer) forgiveAt(omitDone <-chan struct{}) {
	if p != nil {
		p.omitDone = omitDone
	}
}

// refill adds the tokens that accrued since the last refill.
func (p *pacer) refill(now time.Time) {
	if p.omitDone != nil {
		select {
		case <-p.omitDone:
			p.omitDone, p.debt = nil, 0
		default:
		}
	}
	e := now.Sub(p.last).Seconds()
	p.last = now
	if e <= 0 {
		return
	}
	gain := e * p.rate
	if p.debt > 0 {
		extra := min(p.debt, gain/paceCatchUp)
		p.debt -= extra
		gain += extra
	}
	p.tokens += gain
	if over := p.tokens - p.depth; over > 0 {
		p.debt = min(p.debt+over, p.maxDebt)
		p.tokens = p.depth
	}
}

// wait blocks until a block may be sent: until the bucket holds a
// release's worth, the last block of which may overdraw it. It returns
// false when quit closes.
func (p *pacer) wait(quit <-chan struct{}) bool {
	need := p.release - p.length
	for {
		p.refill(time.Now())
		if p.tokens > need {
			return true
		}
		rate := p.rate
		if p.debt > 0 {
			rate += p.rate / paceCatchUp
		}
		d := time.Duration((need - p.tokens) / rate * float64(time.Second))
		if d < fineSleepMax && p.fine.sleep(d) {
			select {
			case <-quit:
				return false
			default:
			}
			continue
		}
		p.timer.Reset(d)
		select {
		case <-p.timer.C:
		case <-quit:
			p.timer.Stop()
			return false
		}
	}
}

// spend takes n bytes from the bucket.
func (p *pacer) spend(n int) { p.tokens -= float64(n) }
