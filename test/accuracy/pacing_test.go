//go:build linux

package accuracy

import (
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/procstat"
	"github.com/iperfmon/iperfmon/internal/testenv"
)

// pacingCase is a link with a shallow token bucket (tbf whose queue is as
// small as its bucket, so that a burst deeper than the bucket is dropped,
// as by a provider's policer or a shallow switch buffer) and a test whose
// target rate fits under the link's rate: whatever is lost, the sender's
// burstiness lost it.
type pacingCase struct {
	rate   float64 // the link, bits/s on the wire
	bucket int     // tbf burst and limit, bytes
	load   float64 // -b as a share of rate
	udp    bool
	dir    direction
}

func (pc pacingCase) String() string {
	proto := "tcp"
	if pc.udp {
		proto = "udp"
	}
	return fmt.Sprintf("tbf %gM bucket %s %s -b %.0f%% %s", pc.rate/1e6, kb(pc.bucket), proto, pc.load*100, pc.dir)
}

func (pc pacingCase) bitrate() float64 { return pc.load * pc.rate }

// pacingCases: a bucket of four frames at 100 Mbit/s, 16 KB at 500 Mbit/s
// and 64 KB at 1 Gbit/s, UDP at 80-95 % of the link, both directions; TCP
// at 80 % over the two deeper buckets. About 60 s on a quiet host.
func pacingCases() []pacingCase {
	frames4 := 4 * (linkMTU + 14)
	return []pacingCase{
		{100e6, frames4, 0.90, true, forward},
		{100e6, frames4, 0.95, true, reverse},
		{500e6, 16 << 10, 0.90, true, forward},
		{500e6, 16 << 10, 0.90, true, reverse},
		{1e9, 64 << 10, 0.80, true, forward},
		{100e6, 16 << 10, 0.80, false, forward},
		{500e6, 64 << 10, 0.80, false, reverse},
	}
}

// Tolerances of the pacing cases.
const (
	tolPacingLossPP = 0.1 // iperfmon's loss over stock iperf3's, percentage points
	tolOvershootPct = 1.0 // TCP received over -b
)

// pacingRef is the stock iperf3 the pacing cases compare with: 3.22 from
// IPERFMON_IPERF3_322 (it paces each datagram with clock_nanosleep on its
// own thread), else Debian's 3.12 (a busy loop on the average rate).
func pacingRef(t *testing.T, l *link) pair {
	t.Helper()
	if p := os.Getenv("IPERFMON_IPERF3_322"); p != "" {
		tl := iperf3Tool(p)
		tl.name = "iperf3 3.22"
		return pair{tl, tl}
	}
	if testenv.InCI() {
		testenv.Unavailable(t, "IPERFMON_IPERF3_322 is not set: the pacing cases compare with stock iperf3 3.22 (bash scripts/stock-iperf3.sh sid prints its path)")
	}
	t.Log("IPERFMON_IPERF3_322 is not set: comparing with Debian's iperf3 3.12")
	tl := iperf3Tool(l.tl.iperf3)
	tl.name = "iperf3 3.12"
	return pair{tl, tl}
}

// TestPacing checks that iperfmon's sender at a target rate is no
// burstier than stock iperf3's: over a shallow bucket, UDP loses at most
// 0.1 points more than the worse of two iperf3 runs, one before and one
// after it (plus their own spread, when they disagree), and TCP neither stalls (delivers what iperf3 does, or
// -b) nor overshoots -b. UDP runs with GSO on, the default: the pacer, not
// a kill switch, must keep the batches small.
func TestPacing(t *testing.T) {
	requirePacing(t)
	l := newLink(t)
	_, ours := subjects(t, l)
	ref := pacingRef(t, l)
	for _, pc := range pacingCases() {
		t.Run(pc.String(), func(t *testing.T) {
			if ours == nil {
				t.Skip(iperfmonWhy)
			}
			b := pc.bitrate()
			r := newRow(t, "pacing "+pc.String(), fmt.Sprintf("%s → -b %s", mbit(pc.rate), mbit(b)))
			s := spec{udp: pc.udp, dir: pc.dir, family: 4, bitrate: b, time: 3, omit: 1}
			if pc.udp {
				s.length, s.window = 1400, udpWindow()
			}
			refSpec := s
			// 3.12's client summary counts the omitted second's losses in
			// forward mode (docs/accuracy.md); the server's own is right.
			refSpec.serverOutput = pc.udp && pc.dir == forward
			sh := shaping{qdisc: "tbf", rate: pc.rate, burst: pc.bucket, limit: pc.bucket}
			prep := func() error { l.unshape(pc.dir.receiver()); return l.shape(pc.dir.sender(), sh) }
			runCase(t, r, func(c *checker) {
				m := procstat.NewStealMeter()
				defer judgeHost(c, m)
				rr := c.run(l, ref, refSpec, prep)
				m.Lap()
				if rr == nil {
					return
				}
				or := c.run(l, *ours, s, prep)
				m.Lap()
				if or == nil {
					return
				}
				floor := min(b, rr.recvBPS) * (1 - tolTruthPct/100)
				if !pc.udp {
					r.ours, r.ref = mbit(or.recvBPS), mbit(rr.recvBPS)+" ("+ref.client.name+")"
					r.errPct = pct(or.recvBPS, b) + " (of -b)"
					// What the sender's socket buffer held at the end of -O
					// drains at the link's rate afterwards, for both tools
					// (at 500 Mbit/s -R, 3.22 received 4.8 % over -b), so the
					// ceiling is -b + 1 % or iperf3's + 2 %.
					ceil := max(b*(1+tolOvershootPct/100), rr.recvBPS*(1+tolRefPct/100))
					c.withinRange("iperfmon TCP received (no stall: iperf3's or -b, less 3 %; no overshoot: -b + 1 % or iperf3's + 2 %)",
						or.recvBPS, floor, ceil)
					return
				}
				// iperf3 runs again after iperfmon: a busy host's stalls come
				// and go within seconds (3.22 lost 0.02-18 % in the same
				// case of one run), so iperfmon is held to the worse of the
				// two runs that bracket it.
				rr2 := c.run(l, ref, refSpec, prep)
				if rr2 == nil {
					return
				}
				// Two iperf3 runs on the same link that disagree by more than
				// the tolerance show what the host did meanwhile: that
				// spread is allowed on top of it (none when they agree).
				refLoss := max(serverLoss(rr), serverLoss(rr2))
				tol := tolPacingLossPP + math.Abs(serverLoss(rr)-serverLoss(rr2))
				floor = min(b, rr.recvBPS, rr2.recvBPS) * (1 - tolTruthPct/100)
				r.ours = fmt.Sprintf("loss %.3f %%, %s", or.lostPercent, mbit(or.recvBPS))
				r.ref = fmt.Sprintf("loss %.3f / %.3f %%, %s / %s (%s, before / after)", serverLoss(rr), serverLoss(rr2), mbit(rr.recvBPS), mbit(rr2.recvBPS), ref.client.name)
				r.errPct = fmt.Sprintf("%+.3f pp (over iperf3)", or.lostPercent-refLoss)
				if math.IsNaN(or.lostPercent) || math.IsNaN(refLoss) || or.lostPercent > refLoss+tol {
					c.errorf("iperfmon loss %.3f %% over a %s bucket, %s %.3f %% (the worse of the runs before and after): want at most %.2f points more (0.1 and the two runs' spread)",
						or.lostPercent, kb(pc.bucket), ref.client.name, refLoss, tol)
				}
				c.withinRange("iperfmon UDP received (iperf3's or -b, less 3 %)", or.recvBPS, floor, math.Inf(1))
				if !c.ok() && refLoss > maxRefLossPct {
					c.unfitf("%s lost %.2f %% on this link, which it holds under %g %% on a host that keeps time", ref.client.name, refLoss, maxRefLossPct)
				}
			})
		})
	}
}

// requirePacing skips the pacing cases when ACCURACY_PACING=0.
func requirePacing(t *testing.T) {
	t.Helper()
	if os.Getenv("ACCURACY_PACING") == "0" {
		t.Skip("ACCURACY_PACING=0: the pacing cases are switched off")
	}
}

// The pacing cases judge a tenth of a percent of loss, or a few KB of
// burst, which a shared VM's stalls swamp: with the hypervisor taking a
// quarter of the CPUs' time, a tbf's timers fire late and a 16 KB bucket
// at 500 Mbit/s dropped 17-41 % of 3.22's datagrams. A failed attempt is
// not counted (checker.unfit) when the hypervisor took more than
// procstat.UnfitSteal of a CPU's time while a tool ran, or when stock
// iperf3 lost more than maxRefLossPct on the link: on a host that keeps
// time it loses under that in every case.
const maxRefLossPct = 1.0

// judgeHost marks a failed attempt unfit when the hypervisor took more
// than procstat.UnfitSteal of a CPU's time in one of m's laps (a tool run).
func judgeHost(c *checker, m *procstat.StealMeter) {
	if c.ok() {
		return
	}
	if s := m.Max(); s > procstat.UnfitSteal {
		c.unfitf("the hypervisor took %.1f %% of a CPU's time (steal in /proc/stat), more than %.0f %%", 100*s, 100*procstat.UnfitSteal)
	}
}

// serverLoss is the loss a stock run reports: its server's own where the
// client fetched it, else its client's.
func serverLoss(rr *result) float64 {
	if !math.IsNaN(rr.srvLostPercent) {
		return rr.srvLostPercent
	}
	return rr.lostPercent
}

// burstCase is a UDP test on an unshaped link whose arrivals are captured.
type burstCase struct {
	bitrate float64
	length  int
}

// TestPacingBurst measures the burst directly: the arrivals of a UDP test
// at -b on an unshaped link, and from them the token bucket a link would
// need to pass every packet. The pacer's promise is an envelope: in any
// window w, at most depth + catchUp·b·w leaves (its peak bucket), stalls
// or not. So a link at catchUp·b needs no more than depth plus what the
// kernel bunches (burstBound), which iperfmon's 99.9th percentile must
// meet while the host runs it on time: a late wake-up or a stall shows as
// a silence of more than stallGap in the arrivals, and while the sender
// makes it up (at catchUp·b or faster, so for at most four times the
// silence) the envelope does not apply. The bucket at -b/0.9 (a link loaded
// to 90 %) is reported for both tools, stalls included: after a stall
// iperf3 sends its arrears back to back, iperfmon in releases of at most
// 0.5 ms of rate. About 25 s.
func TestPacingBurst(t *testing.T) {
	requirePacing(t)
	l := newLink(t)
	_, ours := subjects(t, l)
	ref := pacingRef(t, l)
	for _, bc := range []burstCase{{90e6, 1400}, {450e6, 1400}, {900e6, 1400}} {
		name := fmt.Sprintf("burst udp -b %gM -l %d fwd", bc.bitrate/1e6, bc.length)
		t.Run(name, func(t *testing.T) {
			if ours == nil {
				t.Skip(iperfmonWhy)
			}
			wire := float64(bc.length+udpOverhead) / float64(bc.length)
			envelope := bc.bitrate * catchUp * wire
			loaded := bc.bitrate / 0.9 * wire
			bound := burstBound(bc.bitrate, bc.length)
			r := newRow(t, name, fmt.Sprintf("bucket at %s: p99.9 ≤ %s", mbit(envelope), kb(int(bound))))
			s := spec{udp: true, dir: forward, family: 4, bitrate: bc.bitrate, length: bc.length, window: udpWindow(), time: 3, omit: 1}
			prep := func() error { l.unshape(srvSide); l.unshape(cliSide); return nil }
			type buckets struct{ env, loaded burstStats }
			measure := func(c *checker, p pair) *buckets {
				cp, err := l.startCapture(srvSide, bc.length)
				if err != nil {
					c.final = true
					c.errorf("capture: %v", err)
					return nil
				}
				res := c.run(l, p, s, prep)
				arr, err := cp.stop()
				if err != nil {
					c.errorf("%s: capture: %v", p, err)
					return nil
				}
				if res == nil || len(arr) == 0 {
					c.errorf("%s: no datagrams captured", p)
					return nil
				}
				// The measured seconds: after -O, short of the end.
				first, last := arr[0].at, arr[len(arr)-1].at
				from, to := first+time.Duration(s.omit)*time.Second+100*time.Millisecond, last-100*time.Millisecond
				b := buckets{neededBucketSkipping(arr, envelope, from, to, makeUps(arr, from, to, stallGap)), neededBucket(arr, loaded, from, to)}
				t.Logf("%s: %d packets, %s on the wire; bucket at %s p99.9 %s, max %s (%.1f %% left out after stalls); at %s p99.9 %s, max %s",
					p, b.env.packets, mbit(b.env.wireBPS), mbit(envelope), kb(int(b.env.p999Bytes)), kb(int(b.env.maxBytes)), 100*b.env.stalled,
					mbit(loaded), kb(int(b.loaded.p999Bytes)), kb(int(b.loaded.maxBytes)))
				return &b
			}
			runCase(t, r, func(c *checker) {
				m := procstat.NewStealMeter()
				defer judgeHost(c, m)
				rs := measure(c, ref)
				m.Lap()
				if rs == nil {
					return
				}
				r.ref = fmt.Sprintf("p99.9 %s; at 90 %%: p99.9 %s, max %s (%s)", kb(int(rs.env.p999Bytes)),
					kb(int(rs.loaded.p999Bytes)), kb(int(rs.loaded.maxBytes)), ref.client.name)
				ob := measure(c, *ours)
				if ob == nil {
					return
				}
				r.ours = fmt.Sprintf("p99.9 %s; at 90 %%: p99.9 %s, max %s", kb(int(ob.env.p999Bytes)), kb(int(ob.loaded.p999Bytes)), kb(int(ob.loaded.maxBytes)))
				r.errPct = fmt.Sprintf("%d packets", ob.env.packets)
				switch {
				case ob.env.stalled > maxStalled:
					c.errorf("the host stalled iperfmon's sender: %.0f %% of the test was making up, more than %.0f %%",
						100*ob.env.stalled, 100*maxStalled)
					c.unfitf("iperfmon's sender was stalled for %.0f %% of the test", 100*ob.env.stalled)
				case !(ob.env.p999Bytes <= bound):
					c.errorf("iperfmon at -b %s needs a %s bucket at %s (99.9th percentile, make-ups after stalls left out), want at most %s; %s needs %s",
						mbit(bc.bitrate), kb(int(ob.env.p999Bytes)), mbit(envelope), kb(int(bound)), ref.client.name, kb(int(rs.env.p999Bytes)))
				}
			})
		})
	}
}

// catchUp is the pacer's peak rate in multiples of -b (measure/pace.go).
const catchUp = 1.25

// stallGap: a longer silence of a sender at 90 Mbit/s or more is the host
// waking it late or stalling it (on time, its releases are 100 µs of rate
// or a datagram apart: at most 125 µs here). maxStalled is the most of a
// test that may be make-up after such silences for the case to be judged.
const (
	stallGap   = 300 * time.Microsecond
	maxStalled = 0.2
)

// udpOverhead is what a datagram adds on the wire: UDP, IPv4, Ethernet.
const udpOverhead = 8 + 20 + 14

// burstBound is the bucket, in wire bytes, that a link at catchUp times
// -b needs for iperfmon's sender: the pacer's peak bucket (250 µs of -b,
// at least 4 datagrams), plus 250 µs of -b for what the kernel's send path
// bunches (a sender descheduled inside sendmmsg hands its datagrams to the
// link late, close to the next release's).
func burstBound(bitrate float64, length int) float64 {
	wire := float64(length+udpOverhead) / float64(length)
	depth := max(bitrate/8*250e-6, 4*float64(length))
	return (depth + bitrate/8*250e-6) * wire
}

// kb formats a byte count.
func kb(n int) string {
	if n >= 1<<10 {
		return fmt.Sprintf("%.1f KB", float64(n)/1024)
	}
	return fmt.Sprintf("%d B", n)
}

// withinRange checks lo <= got <= hi.
func (c *checker) withinRange(what string, got, lo, hi float64) {
	if math.IsNaN(got) || got < lo || got > hi {
		c.errorf("%s: got %s, want %s to %s", what, mbit(got), mbit(lo), mbit(hi))
	}
}
