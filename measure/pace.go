package measure

import (
	"math"
	"time"
)

// pacer paces one sending stream on two buckets of bytes.
//
// The average bucket is iperf3's throttle: it fills at the target rate, so
// over the test the stream sends what -b asks for. A sender held back (the
// host descheduled it, or a full socket buffer blocked it) keeps what the
// average owes it, up to pacerBurst of rate, and makes it up afterwards,
// as iperf3 does by pacing on the average since the start.
//
// The peak bucket bounds how it leaves: what a sender releases at once
// leaves back to back, and a policer or shallow buffer on the path drops
// the tail of a burst deeper than its own bucket although the average rate
// fits. The peak bucket holds at most depth bytes (paceQuantum of rate, at
// least paceMinBurst blocks) and fills at paceCatchUp times the rate, a
// little faster while long arrears are owed (peakRate), so a wake-up
// releases at most depth (woken late, what accrued at the peak rate since
// the last, up to paceLate of it), and a stall is made up in such
// releases, never in one burst (iperf3 sends the whole arrears back to
// back). Sleeps are fine-grained
// where the platform allows it (pace_linux.go: nanosleep), not Go's ~1 ms
// timer.
//
// A block may go out while both buckets are positive, so the debt of one
// block is paid by waiting. The clock is read once per refill (one batch),
// not per block.
type pacer struct {
	rate    float64 // bytes per second
	depth   float64 // the most that may leave back to back
	release float64 // a wake-up waits for this much (at least one block)
	length  float64
	maxOwed float64 // the average bucket's cap: depth + pacerBurst of rate
	owed    float64 // the average bucket
	peak    float64 // the peak bucket
	catchUp float64 // the peak bucket's rate in multiples of rate
	tokens  float64 // what may go now: min(owed, peak), set by refill
	last    time.Time
	timer   *time.Timer
	fine    fineSleeper
	// omitDone closes at the end of -O: what the average owes for the
	// omitted seconds is forgiven then, as iperf3 restarts its average
	// there, so that the measured seconds do not carry it (an overshoot
	// of -b).
	omitDone <-chan struct{}
}

const (
	// pacerBurst is the longest stall the pacer makes up for.
	pacerBurst = 500 * time.Millisecond
	// paceQuantum is the peak bucket's depth in time of rate: 31 KB at
	// 1 Gbit/s, 3 KB at 100 Mbit/s.
	paceQuantum = 250 * time.Microsecond
	// paceWake is how much rate one wake-up releases: each sleep costs a
	// few µs of CPU (a timer and two context switches, more in a VM),
	// so a datagram per sleep would cost more than the datagrams; 100 µs
	// is 4 datagrams of 1400 bytes at 450 Mbit/s, 10,000 wake-ups a second.
	paceWake = 100 * time.Microsecond
	// paceMinBurst is the peak bucket's least depth, in blocks: a datagram
	// must fit, and at low rates a few may go together.
	paceMinBurst = 4
	// paceCatchUp is the peak bucket's rate in multiples of -b: arrears
	// are made up at up to a quarter over the rate, which a link loaded
	// to 80 % carries without queueing. Repaying at 1/16 over the rate
	// left a sender on a loaded 2-core VM at 63-90 % of -b (its wake-ups
	// were late often enough that the arrears never cleared); at twice
	// the rate the repayment itself overflowed a 64 KB bucket at 80 % of
	// 1 Gbit/s, where 3.22 lost nothing.
	paceCatchUp = 1.25
	// paceHorizon: arrears beyond the peak bucket raise its rate by
	// their own length over paceHorizon (peakRate). With 1.25 alone, a
	// sender on a host that stalled it for 10-60 ms at a time (test
	// suites on a 2-core VM) reached 42-82 % of -b where iperf3, which
	// sends its arrears back to back, reached -b.
	paceHorizon = 50 * time.Millisecond
	// paceLate is the longest late wake-up whose accrual (at the peak
	// rate) one release may carry, so that a sender woken late as a rule
	// still meets -b: its arrears raise the peak rate until each release
	// carries what a wake-up owes. It bounds what a late wake-up sends
	// back to back to 0.5 ms of the peak rate, 62 KB at 800 Mbit/s, which a
	// 64 KB bucket passes; at 2 ms (250 KB) iperfmon lost 0.4-1.4 % over
	// that bucket where 3.22, whose make-up leaves at the pace of one
	// syscall per datagram, lost 0-0.04 %, and at 0.5 ms 0-0.03 %.
	paceLate = 500 * time.Microsecond
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
		maxOwed: depth + rate*pacerBurst.Seconds(),
		catchUp: paceCatchUp,
		last:    start,
		timer:   t,
		fine:    newFineSleeper(),
	}
}

// deep lets a stream make up its arrears at once (no peak bucket), and
// returns p. For TCP:
// its blocks go into the socket buffer, and the kernel's congestion
// control, not the pacer, decides what leaves back to back; what the pacer
// held back after a stall (a loss recovery that filled the buffer) would
// only be missing from the average.
func (p *pacer) deep() *pacer {
	if p != nil {
		p.depth = p.maxOwed
		p.catchUp = math.Inf(1)
	}
	return p
}

// forgiveAt makes the pacer drop its arrears when omitDone closes.
func (p *pacer) forgiveAt(omitDone <-chan struct{}) {
	if p != nil {
		p.omitDone = omitDone
	}
}

// refill adds what accrued since the last refill to both buckets.
func (p *pacer) refill(now time.Time) {
	if p.omitDone != nil {
		select {
		case <-p.omitDone:
			p.omitDone = nil
			p.owed = min(p.owed, p.depth)
		default:
		}
	}
	if e := now.Sub(p.last).Seconds(); e > 0 {
		p.last = now
		// A wake-up later than the peak bucket's depth may release what
		// accrued at the peak rate since the last, up to paceLate of it:
		// capping it at depth would cap the rate at depth per wake-up
		// (41 Mbit/s for 1 ms wake-ups at 100 Mbit/s), short of -b on a
		// host that wakes the sender late, where iperf3 sends what it owes.
		late := min(e, paceLate.Seconds()) * p.rate * p.peakRate()
		p.peak = min(p.peak+e*p.rate*p.peakRate(), max(p.depth, late))
		p.owed = min(p.owed+e*p.rate, p.maxOwed)
	}
	p.tokens = min(p.owed, p.peak)
}

// wait blocks until a block may be sent: until both buckets hold a
// release's worth, the last block of which may overdraw them. It returns
// false when quit closes.
func (p *pacer) wait(quit <-chan struct{}) bool {
	need := p.release - p.length
	for {
		p.refill(time.Now())
		if p.tokens > need {
			return true
		}
		// The later of the two buckets' times to fill up to need.
		s := max((need-p.owed)/p.rate, (need-p.peak)/(p.rate*p.peakRate()))
		d := time.Duration(s*float64(time.Second)) + 1
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

// peakRate is the peak bucket's rate in multiples of -b: catchUp, plus
// what it takes to make up the arrears beyond the peak bucket within
// paceHorizon. A host that stalls the sender for s makes it send at
// (catchUp + s/paceHorizon) times -b until the arrears are made up: a few
// hundred µs of stall barely raise it, tens of ms (a loaded host) nearly
// double it, so that -b is still met.
func (p *pacer) peakRate() float64 {
	return p.catchUp + max(p.owed-p.depth, 0)/(p.rate*paceHorizon.Seconds())
}

// spend takes n bytes from both buckets.
func (p *pacer) spend(n int) {
	f := float64(n)
	p.owed -= f
	p.peak -= f
	p.tokens -= f
}
