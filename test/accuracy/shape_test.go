//go:build linux

package accuracy

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// shaping is a rate limit on one end's egress.
type shaping struct {
	qdisc string  // "tbf" or "htb"
	rate  float64 // bits per second on the wire (L2 bytes, as tc counts them)
	burst int     // bucket size in bytes; 0 picks burstFor(rate)
	// limit is tbf's queue in bytes; 0 queues 50 ms of rate. A limit the
	// size of the bucket makes a policer-like link: a burst deeper than
	// the bucket is dropped, not delayed.
	limit int
}

func (s shaping) String() string { return fmt.Sprintf("%s %s", s.qdisc, mbit(s.rate)) }

// burstFor sizes the token bucket: 20 ms of traffic, and never less than
// 10 full frames. A small bucket makes the shaper undershoot when the
// sender (or the softirq feeding the qdisc) is descheduled for a moment on a
// busy 2-core machine: the link idles and the unused tokens overflow. The
// bucket only fills while the link idles, so it can never let through more
// than rate × time + burst: with -O 1 the initial bucket is spent in the
// omitted second, and at most one bucket (20 ms of rate, 0.67 % of a 3 s
// test) can follow a stall inside the measured window.
func burstFor(rate float64) int {
	b := int(rate / 8 * 0.020)
	return max(b, 10*(linkMTU+14))
}

// shape replaces the root qdisc of one end with a fresh shaper. Recreating
// it (instead of changing it) starts every test with a full bucket and
// zeroed counters.
func (l *link) shape(s side, sh shaping) error {
	l.unshape(s)
	burst := sh.burst
	if burst == 0 {
		burst = burstFor(sh.rate)
	}
	rate := strconv.FormatInt(int64(sh.rate), 10) + "bit"
	b := strconv.Itoa(burst)
	tc := []string{l.tl.tc, "-n", l.ns[s]}
	switch sh.qdisc {
	case "tbf":
		// latency bounds the queue: 50 ms of backlog keeps a TCP sender's
		// queue from running dry after a loss-triggered window cut.
		queue := []string{"latency", "50ms"}
		if sh.limit > 0 {
			queue = []string{"limit", strconv.Itoa(sh.limit)}
		}
		return l.cmd(append(append(tc, "qdisc", "add", "dev", l.dev[s], "root", "tbf",
			"rate", rate, "burst", b), queue...)...)
	case "htb":
		if err := l.cmd(append(tc, "qdisc", "add", "dev", l.dev[s], "root", "handle", "1:", "htb", "default", "10")...); err != nil {
			return err
		}
		// One class takes everything; quantum only matters between classes
		// and is set to quiet tc's "quantum is big" warning.
		return l.cmd(append(tc, "class", "add", "dev", l.dev[s], "parent", "1:", "classid", "1:10", "htb",
			"rate", rate, "ceil", rate, "burst", b, "cburst", b, "quantum", "60000")...)
	}
	return fmt.Errorf("unknown qdisc %q (allowed: tbf, htb)", sh.qdisc)
}

// unshape puts the end back to the kernel's default qdisc.
func (l *link) unshape(s side) {
	_ = l.cmd(l.tl.tc, "-n", l.ns[s], "qdisc", "del", "dev", l.dev[s], "root")
}

// dropRule drops UDP datagrams arriving at one end. Exactly one of random
// (percent, at random) and every (each k-th datagram) is set.
type dropRule struct {
	random int
	every  int
}

func (d dropRule) String() string {
	if d.every > 0 {
		return fmt.Sprintf("every %dth", d.every)
	}
	return fmt.Sprintf("random %d%%", d.random)
}

// percent is the share of datagrams the rule drops.
func (d dropRule) percent() float64 {
	if d.every > 0 {
		return 100 / float64(d.every)
	}
	return float64(d.random)
}

// nftTable is the one table the suite adds in its namespaces.
const nftTable = "iperfmon_acc"

// nftApply installs the drop rule on input in one end's namespace. Only
// datagrams longer than 100 bytes (UDP length, header included) are
// dropped: iperf3's 4-byte UDP connect and reply datagrams must get through,
// or the test never starts.
func (l *link) nftApply(s side, d dropRule) error {
	match := fmt.Sprintf("numgen random mod 100 < %d", d.random)
	if d.every > 0 {
		match = fmt.Sprintf("numgen inc mod %d == 0", d.every)
	}
	script := fmt.Sprintf(`table inet %[1]s {
	chain input {
		type filter hook input priority 0; policy accept;
		iifname %[2]q meta l4proto udp udp length > 100 %[3]s counter drop
	}
}
`, nftTable, l.dev[s], match)
	l.nftFlush(s)
	return l.cmdIn(script, l.tl.ip, "netns", "exec", l.ns[s], l.tl.nft, "-f", "-")
}

// nftFlush removes the suite's table, if any.
func (l *link) nftFlush(s side) {
	_ = l.cmd(l.tl.ip, "netns", "exec", l.ns[s], l.tl.nft, "delete", "table", "inet", nftTable)
}

// mbit formats a rate in Mbit/s.
func mbit(bps float64) string {
	return strconv.FormatFloat(bps/1e6, 'f', 2, 64)
}

// udpWindow is the -w given to both tools in UDP tests: 4 MiB, or less if
// the host caps socket buffers lower (net.core.rmem_max/wmem_max; iperf3
// fails when it cannot get the size it asked for). The default 208 KiB
// receive buffer overflows at 40 kpps whenever the receiver is descheduled
// for 5 ms, which then shows up as loss that no link caused.
func udpWindow() string {
	w := 4 << 20
	for _, f := range []string{"/proc/sys/net/core/rmem_max", "/proc/sys/net/core/wmem_max"} {
		if b, err := os.ReadFile(f); err == nil {
			if v, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				w = min(w, v)
			}
		}
	}
	return strconv.Itoa(w)
}
