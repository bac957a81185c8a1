//go:build linux

package accuracy

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// rateCase is a link shaped in the data's direction, and a test that
// should fill it.
type rateCase struct {
	qdisc  string
	rate   float64 // bits/s on the wire
	udp    bool
	dir    direction
	family int
	// jumbo runs the case at MTU 9000 with 8000-byte datagrams (see
	// rateCases).
	jumbo bool
}

func (rc rateCase) String() string {
	proto := "tcp"
	if rc.udp {
		proto = "udp"
	}
	s := fmt.Sprintf("%s %gM %s %s", rc.qdisc, rc.rate/1e6, proto, rc.dir)
	if rc.family == 6 {
		s += " v6"
	}
	if rc.jumbo {
		s += " mtu 9000"
	}
	return s
}

// rateCases: tbf at every rate, both protocols, both directions; htb at
// every rate, both protocols, forward (the direction logic is the tools',
// not the qdisc's, and tbf covers it); and IPv6 once per protocol.
//
// UDP at 500 Mbit/s runs at MTU 9000 with 8000-byte datagrams (7.8 kpps).
// With 1400-byte datagrams it takes 45 kpps, and each datagram costs the
// sender the whole veth receive path too (it runs in the sender's softirq):
// on a busy 2-core host stock iperf3 then tops out at 130-420 Mbit/s with no
// drop anywhere, which tests the host's CPU, not anyone's accuracy. The
// 1400-byte path is covered at 20 and 100 Mbit/s.
func rateCases() []rateCase {
	var cs []rateCase
	for _, rate := range []float64{20e6, 100e6, 500e6} {
		for _, udp := range []bool{false, true} {
			jumbo := udp && rate > 100e6
			for _, dir := range []direction{forward, reverse} {
				cs = append(cs, rateCase{"tbf", rate, udp, dir, 4, jumbo})
			}
			cs = append(cs, rateCase{"htb", rate, udp, forward, 4, jumbo})
		}
	}
	return append(cs, rateCase{"tbf", 100e6, false, forward, 6, false}, rateCase{"tbf", 100e6, true, reverse, 6, false})
}

// TestRate checks received throughput against the goodput of a shaped link
// and against stock iperf3 on the same link in the same run.
func TestRate(t *testing.T) {
	l := newLink(t)
	ref, ours := subjects(t, l)
	for _, rc := range rateCases() {
		t.Run(rc.String(), func(t *testing.T) {
			sh := shaping{qdisc: rc.qdisc, rate: rc.rate}
			s := spec{udp: rc.udp, dir: rc.dir, family: rc.family, time: 3, omit: 1}
			if rc.udp {
				// 10 % over the link: the shaper, not the sender's pacing,
				// is the bottleneck.
				s.length, s.bitrate, s.window = 1400, 1.1*rc.rate, udpWindow()
			}
			if rc.jumbo {
				s.length = 8000
				require.NoError(t, l.setMTU(9000))
				t.Cleanup(func() { require.NoError(t, l.setMTU(linkMTU)) })
			}
			want := goodput(rc.rate, rc.udp, rc.family, s.length)
			r := newRow(t, "rate "+rc.String(), mbit(rc.rate)+" → "+mbit(want))
			prep := func() error { l.unshape(rc.dir.receiver()); return l.shape(rc.dir.sender(), sh) }
			runCase(t, r, func(c *checker) {
				rr := c.run(l, ref, s, prep)
				if rr == nil {
					return
				}
				r.ref, r.errPct = mbit(rr.recvBPS), pct(rr.recvBPS, want)+" (iperf3)"
				c.withinPct("iperf3 against the link's goodput", rr.recvBPS, want, tolTruthPct)
				if !rc.udp && !isNaN(rr.mss) && int(rr.mss) != tcpMSS(rc.family) {
					c.errorf("iperf3 reports MSS %v, the goodput formula assumes %d", rr.mss, tcpMSS(rc.family))
				}
				if ours == nil {
					return
				}
				or := c.run(l, *ours, s, prep)
				if or == nil {
					return
				}
				r.ours, r.errPct = mbit(or.recvBPS), pct(or.recvBPS, want)
				c.withinPct("iperfmon against the link's goodput", or.recvBPS, want, tolTruthPct)
				c.withinPct("iperfmon against iperf3", or.recvBPS, rr.recvBPS, tolRefPct)
				if rc.udp && !jitterConsistentShaped(or.jitterMs, rr.jitterMs) {
					c.errorf("jitter: iperfmon %.3f ms, iperf3 %.3f ms: not consistent", or.jitterMs, rr.jitterMs)
				}
			})
		})
	}
}
