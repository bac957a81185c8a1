//go:build linux

package accuracy

import (
	"fmt"
	"math"
	"testing"
)

// lossCase drops UDP datagrams at the receiving end with nftables.
type lossCase struct {
	drop dropRule
	dir  direction
	// cross runs iperfmon on one end only: crossServer puts stock iperf3's
	// client against our server, otherwise our client runs against a stock
	// server.
	cross, crossServer bool
	omit               int
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
			cs = append(cs, lossCase{drop: d, dir: dir, omit: 1})
		}
	}
	each20 := dropRule{every: 20}
	return append(cs,
		// Our server counts, stock iperf3's client prints. -O 0: a 3.12
		// client cannot subtract a server's omitted errors (it ignores
		// omitted_errors), so with -O it would print the omitted second's
		// losses over the measured seconds' datagrams, whoever serves.
		lossCase{drop: each20, dir: forward, cross: true, crossServer: true, omit: 0},
		// Our client counts the datagrams a stock server sends.
		lossCase{drop: each20, dir: reverse, cross: true, omit: 1},
		// Our client against a stock 3.12 server that sends cumulative
		// error counts and no omitted_errors: iperfmon must still report
		// the loss of the measured seconds.
		lossCase{drop: each20, dir: forward, cross: true, omit: 1},
	)
}

func (lc lossCase) String() string {
	s := fmt.Sprintf("loss %s udp %s -O %d", lc.drop, lc.dir, lc.omit)
	switch {
	case lc.cross && lc.crossServer:
		s += " (iperf3 client, iperfmon server)"
	case lc.cross:
		s += " (iperfmon client, iperf3 server)"
	}
	return s
}

// TestLoss checks UDP loss (and delivered bytes and jitter) against
// datagrams dropped on purpose, and against stock iperf3 on the same link.
//
// Stock iperf3 3.12's client summary is wrong in forward mode with -O: it
// divides the server's cumulative error count (omitted second included) by
// the datagrams sent after the omitted second, so it reports (t+O)/t times
// the loss (6.67 % for 5 % with -t 3 -O 1; fixed in 3.13 by exchanging
// omitted_errors). The reference figure is therefore the receiver's own: the
// stock server's report (server_output_json.end.sum, via
// --get-server-output), which is right.
//
// iperfmon runs with UDP GSO off here (spec.noGSO): a GSO super-packet
// crosses the veth whole, and nftables counts and drops it as one packet,
// so "each 20th" would drop each 20th batch of up to 64 datagrams (measured
// with GSO on: 4.6-4.7 % of the datagrams, by the rule's own counter).
func TestLoss(t *testing.T) {
	l := newLink(t)
	ref, ours := subjects(t, l)
	for _, lc := range lossCases() {
		t.Run(lc.String(), func(t *testing.T) {
			if lc.cross && ours == nil {
				t.Skip(iperfmonWhy)
			}
			want := lc.drop.percent()
			r := newRow(t, lc.String(), fmt.Sprintf("loss %.2f %%", want))
			subject := ours
			if lc.cross {
				if lc.crossServer {
					subject = &pair{client: ref.client, server: ours.server}
				} else {
					subject = &pair{client: ours.client, server: ref.server}
				}
			}
			// noGSO: the drop rules must see each datagram, see spec.noGSO.
			s := spec{udp: true, dir: lc.dir, family: 4, bitrate: lossRate, length: lossLength, window: udpWindow(), time: 3, omit: lc.omit, noGSO: true}
			refSpec := s
			refSpec.serverOutput = lc.dir == forward
			prep := func() error {
				l.unshape(srvSide)
				l.unshape(cliSide)
				l.nftFlush(lc.dir.sender())
				return l.nftApply(lc.dir.receiver(), lc.drop)
			}
			t.Cleanup(func() { l.nftFlush(lc.dir.receiver()) })
			runCase(t, r, func(c *checker) {
				rr := c.run(l, ref, refSpec, prep)
				if rr == nil {
					return
				}
				refLoss := rr.lostPercent
				r.ref = fmt.Sprintf("%.2f %%", refLoss)
				if lc.dir == forward {
					if math.IsNaN(rr.srvLostPercent) {
						c.errorf("iperf3: no server_output_json.end.sum.lost_percent with --get-server-output")
					}
					refLoss = rr.srvLostPercent
					r.ref = fmt.Sprintf("%.2f %% (client summary %.2f %%)", refLoss, rr.lostPercent)
				}
				r.errPct = fmt.Sprintf("%+.2f pp (iperf3)", refLoss-want)
				c.withinAbs("iperf3 loss against the dropped share", refLoss, want, tolLossPP, " pp")
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
				c.withinAbs(subject.String()+" loss against iperf3's", or.lostPercent, refLoss, tolLossPP, " pp")
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
	loss := r.lostPercent
	if !math.IsNaN(r.srvLostPercent) {
		loss = r.srvLostPercent
	}
	c.withinPct(who+" received against sent × (1 − loss)", r.recvBPS, r.sentBPS*(1-loss/100), tolTruthPct)
}
