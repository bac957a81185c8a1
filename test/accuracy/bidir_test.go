//go:build linux

package accuracy

import (
	"testing"
)

// TestBidir checks --bidir: each direction's figure against its own shaped
// goodput and against stock iperf3's split on the same link.
//
// UDP shapes the directions differently (100 and 20 Mbit/s), so that
// swapped directions cannot pass. TCP shapes both at 100 Mbit/s: each
// direction's ACKs share the other direction's shaper, and behind a
// congested 20 Mbit/s queue they starve the 100 Mbit/s flow (iperf3
// measures 84 instead of 96 Mbit/s there, a real effect, not an error).
// With equal rates the ACKs cost each direction under 1 %.
//
// iperf3's printed reverse rate divides the right bytes by the server's
// forward receive time (see result.revOwnBPS), about 2 % too low on a 3 s
// test; the reference is recomputed from its bytes and its intervals.
func TestBidir(t *testing.T) {
	l := newLink(t)
	ref, ours := subjects(t, l)
	cases := []struct {
		name     string
		udp      bool
		fwd, rev float64 // shaped rates: client egress, server egress
	}{
		{"bidir tbf 100M/100M tcp", false, 100e6, 100e6},
		{"bidir tbf 100M/20M udp", true, 100e6, 20e6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := spec{udp: tc.udp, dir: bidir, family: 4, time: 3, omit: 1}
			if tc.udp {
				s.length, s.bitrate, s.window = 1400, 1.1*tc.fwd, udpWindow()
			}
			wantFwd := goodput(tc.fwd, tc.udp, 4, s.length)
			wantRev := goodput(tc.rev, tc.udp, 4, s.length)
			r := newRow(t, tc.name, mbit(tc.fwd)+"/"+mbit(tc.rev)+" → "+mbit(wantFwd)+"/"+mbit(wantRev))
			prep := func() error {
				if err := l.shape(cliSide, shaping{qdisc: "tbf", rate: tc.fwd}); err != nil {
					return err
				}
				return l.shape(srvSide, shaping{qdisc: "tbf", rate: tc.rev})
			}
			runCase(t, r, func(c *checker) {
				rr := c.run(l, ref, s, prep)
				if rr == nil {
					return
				}
				// iperf3's printed reverse figure uses the wrong time
				// (see revOwnBPS): the reference is its own bytes over
				// its own receive intervals.
				refRev := rr.revOwnBPS()
				r.ref = mbit(rr.recvBPS) + "/" + mbit(refRev)
				r.errPct = pct(rr.recvBPS, wantFwd) + "/" + pct(refRev, wantRev) + " (iperf3)"
				c.withinPct("iperf3 forward against the shaped goodput", rr.recvBPS, wantFwd, tolTruthPct)
				c.withinPct("iperf3 reverse (its bytes over its receive intervals) against the shaped goodput", refRev, wantRev, tolTruthPct)
				if ours == nil {
					return
				}
				or := c.run(l, *ours, s, prep)
				if or == nil {
					return
				}
				r.ours = mbit(or.recvBPS) + "/" + mbit(or.revRecvBPS)
				r.errPct = pct(or.recvBPS, wantFwd) + "/" + pct(or.revRecvBPS, wantRev)
				c.withinPct("iperfmon forward against the shaped goodput", or.recvBPS, wantFwd, tolTruthPct)
				c.withinPct("iperfmon reverse against the shaped goodput", or.revRecvBPS, wantRev, tolTruthPct)
				c.withinPct("iperfmon forward against iperf3", or.recvBPS, rr.recvBPS, tolRefPct)
				c.withinPct("iperfmon reverse against iperf3", or.revRecvBPS, refRev, tolRefPct)
				// Ours must print the rate over its own time, not repeat
				// iperf3's slip.
				c.withinPct("iperfmon reverse against its own bytes over its receive intervals", or.revRecvBPS, or.revOwnBPS(), 0.5)
			})
		})
	}
}
