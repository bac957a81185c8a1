//go:build linux

package accuracy

import (
	"fmt"
	"testing"
)

// lossCase drops UDP datagrams at the receiving end with nftables.
type lossCase struct {
	drop  dropRule
	dir   direction
	cross bool // iperfmon against stock iperf3 (see TestLoss)
}

// The loss tests send 100 Mbit/s of 1400-byte datagrams (8.9 kpps, about
// 26,800 datagrams in 3 s) over an unshaped link. Random loss at p = 5 %
// then has a standard deviation of 0.13 percentage points, so the 0.5-point
// tolerance is 3.7 sigma from the truth; each k-th datagram is exact.
const (
	lossRate   = 100e6
	lossLength = 1400
)

func lossCases() []lossCase {
	var cs []lossCase
	for _, d := range []dropRule{{random: 1}, {random: 5}, {every: 20}} {
		for _, dir := range []direction{forward, reverse} {
			cs = append(cs, lossCase{drop: d, dir: dir})
		}
	}
	// The crosses put each of iperfmon's receivers against the other end
	// in stock iperf3: forward, our server counts the loss and stock iperf3
	// prints it; reverse, our client counts it against a stock server.
	return append(cs, lossCase{drop: dropRule{every: 20}, dir: forward, cross: true},
		lossCase{drop: dropRule{every: 20}, dir: reverse, cross: true})
}

func (lc lossCase) String() string {
	s := fmt.Sprintf("loss %s udp %s", lc.drop, lc.dir)
	if lc.cross {
		if lc.dir == forward {
			s += " (iperf3 client, iperfmon server)"
		} else {
			s += " (iperfmon client, iperf3 server)"
		}
	}
	return s
}

// TestLoss checks UDP loss (and throughput and jitter) against datagrams
// dropped on purpose, and against stock iperf3 on the same link.
func TestLoss(t *testing.T) {
	l := newLink(t)
	ref, ours := subjects(t, l)
	for _, lc := range lossCases() {
		t.Run(lc.String(), func(t *testing.T) {
			want := lc.drop.percent()
			r := newRow(t, lc.String(), fmt.Sprintf("loss %.2f %%", want))
			subject := ours
			if ours != nil && lc.cross {
				if lc.dir == forward {
					subject = &pair{client: ref.client, server: ours.server}
				} else {
					subject = &pair{client: ours.client, server: ref.server}
				}
			}
			if lc.cross && ours == nil {
				t.Skip(iperfmonWhy)
			}
			s := spec{udp: true, dir: lc.dir, family: 4, bitrate: lossRate, length: lossLength, window: udpWindow(), time: 3, omit: 1}
			prep := func() error {
				l.unshape(srvSide)
				l.unshape(cliSide)
				l.nftFlush(lc.dir.sender())
				return l.nftApply(lc.dir.receiver(), lc.drop)
			}
			t.Cleanup(func() { l.nftFlush(lc.dir.receiver()) })
			runCase(t, r, func(c *checker) {
				rr := c.run(l, ref, s, prep)
				if rr == nil {
					return
				}
				r.ref, r.errPct = fmt.Sprintf("%.2f %%", rr.lostPercent), fmt.Sprintf("%+.2f pp (iperf3)", rr.lostPercent-want)
				c.withinAbs("iperf3 loss against the dropped share", rr.lostPercent, want, tolLossPP, " pp")
				checkDelivered(c, "iperf3", rr)
				if subject == nil {
					return
				}
				or := c.run(l, *subject, s, prep)
				if or == nil {
					return
				}
				r.ours, r.errPct = fmt.Sprintf("%.2f %%", or.lostPercent), fmt.Sprintf("%+.2f pp", or.lostPercent-want)
				c.withinAbs(subject.String()+" loss against the dropped share", or.lostPercent, want, tolLossPP, " pp")
				c.withinAbs(subject.String()+" loss against iperf3's", or.lostPercent, rr.lostPercent, tolLossPP, " pp")
				checkDelivered(c, subject.String(), or)
				c.withinPct(subject.String()+" received against iperf3", or.recvBPS, rr.recvBPS, tolRefPct)
				if !jitterConsistent(or.jitterMs, rr.jitterMs) {
					c.errorf("jitter: %s %.3f ms, iperf3 %.3f ms: not consistent", subject, or.jitterMs, rr.jitterMs)
				}
			})
		})
	}
}

// checkDelivered checks the receiver's byte count against the sender's and
// the loss it reports: received ≈ sent × (1 − loss). (The sender's own rate
// is -b only when the host gives it the CPU; that is not what this test is
// about, so it is not checked against -b.)
func checkDelivered(c *checker, who string, r *result) {
	c.withinPct(who+" received against sent × (1 − loss)", r.recvBPS, r.sentBPS*(1-r.lostPercent/100), tolTruthPct)
}
