//go:build linux

package accuracy

import (
	"fmt"
	"math"
	"testing"
)

// omitBurst is the token bucket of the omit test: 4 MB pass at the veth's
// line rate (several Gbit/s) before the 20 Mbit/s limit bites, all inside
// the first second. The warm-up second is thereby 2.5 times faster than the
// rest, and a total that included it would be far off the shaped rate.
const (
	omitRate  = 20e6
	omitBurst = 4 << 20
)

// TestOmit checks that -O really excludes the warm-up: with a huge bucket
// the omitted first second carries the burst; the total after it must be
// the shaped rate, and the same test without -O must show the burst.
func TestOmit(t *testing.T) {
	l := newLink(t)
	ref, ours := subjects(t, l)
	sh := shaping{qdisc: "tbf", rate: omitRate, burst: omitBurst}
	want := goodput(omitRate, false, 4, 0)
	// Without -O the burst's payload is spread over -t seconds.
	burstBPS := float64(omitBurst) * 8 * float64(tcpMSS(4)) / float64(linkMTU+ethHeader)
	for _, dir := range []direction{forward, reverse} {
		name := fmt.Sprintf("omit tbf 20M burst 4MB tcp %s", dir)
		t.Run(name, func(t *testing.T) {
			r := newRow(t, name, mbit(omitRate)+" → "+mbit(want))
			prep := func() error { l.unshape(dir.receiver()); return l.shape(dir.sender(), sh) }
			check := func(c *checker, p pair) (withOmit float64) {
				s := spec{dir: dir, family: 4, time: 3, omit: 1}
				res := c.run(l, p, s, prep)
				if res == nil {
					return math.NaN()
				}
				c.withinPct(p.String()+" with -O 1 against the shaped goodput", res.recvBPS, want, tolTruthPct)
				warm := math.NaN()
				for _, iv := range res.intervals {
					if iv.sum != nil && iv.sum.omitted {
						warm = iv.sum.bps
						break
					}
				}
				if !(warm > 1.5*want) {
					c.errorf("%s: the omitted interval ran at %s Mbit/s; want the burst to make it > 1.5 × %s, or the test proves nothing", p, mbit(warm), mbit(want))
				}
				s.omit = 0
				all := c.run(l, p, s, prep)
				if all == nil {
					return res.recvBPS
				}
				if !(all.recvBPS > want+burstBPS/float64(s.time)/2) {
					c.errorf("%s without -O: %s Mbit/s, want the burst included (about %s)", p, mbit(all.recvBPS), mbit(want+burstBPS/float64(s.time)))
				}
				return res.recvBPS
			}
			runCase(t, r, func(c *checker) {
				rr := check(c, ref)
				r.ref, r.errPct = mbit(rr), pct(rr, want)+" (iperf3)"
				if ours == nil {
					return
				}
				or := check(c, *ours)
				r.ours, r.errPct = mbit(or), pct(or, want)
				c.withinPct("iperfmon against iperf3 with -O 1", or, rr, tolRefPct)
			})
		})
	}
}
