//go:build linux

package accuracy

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Tolerances, from the issue; docs/accuracy.md explains them.
const (
	tolTruthPct = 3.0 // throughput against the shaped link's goodput
	tolRefPct   = 2.0 // throughput against stock iperf3 on the same link, same run
	tolLossPP   = 0.5 // UDP loss, percentage points, against the truth and iperf3
	tolSumPct   = 0.1 // the interval series against the end total
)

// checker collects the failed checks of one attempt, so that an attempt
// spoiled by a noisy neighbour can be rerun before failing the test.
type checker struct {
	final bool // a failure that another attempt would only repeat
	msgs  []string
	notes []string // context for the failures, e.g. drops outside the link
	// unfit says why the host could not support a judgement in this
	// attempt (the hypervisor took its CPUs, stock iperf3 could not hold
	// the link either): a failed attempt that is unfit does not count.
	unfit []string
}

// unfitf records why this attempt's host was unfit for the case.
func (c *checker) unfitf(format string, args ...any) {
	c.unfit = append(c.unfit, fmt.Sprintf(format, args...))
}

func (c *checker) notef(format string, args ...any) {
	c.notes = append(c.notes, fmt.Sprintf(format, args...))
}

func (c *checker) errorf(format string, args ...any) {
	c.msgs = append(c.msgs, fmt.Sprintf(format, args...))
}

// ok reports whether nothing failed so far.
func (c *checker) ok() bool { return len(c.msgs) == 0 }

// withinPct checks got against want with a relative tolerance.
func (c *checker) withinPct(what string, got, want, tol float64) {
	if math.IsNaN(got) || math.IsNaN(want) || want == 0 || math.Abs(got/want-1)*100 > tol {
		c.errorf("%s: got %s, want %s ±%.1f%% (off by %s)", what, mbit(got), mbit(want), tol, pct(got, want))
	}
}

// withinAbs checks got against want with an absolute tolerance.
func (c *checker) withinAbs(what string, got, want, tol float64, unit string) {
	if math.IsNaN(got) || math.IsNaN(want) || math.Abs(got-want) > tol {
		c.errorf("%s: got %.3f%s, want %.3f%s ±%g%s", what, got, unit, want, unit, tol, unit)
	}
}

// attempts is how often a case may run before its failures count (default
// 3, ACCURACY_ATTEMPTS overrides). Only the last attempt's failures are
// reported; the report shows which attempt passed.
func attempts() int {
	if n, err := strconv.Atoi(os.Getenv("ACCURACY_ATTEMPTS")); err == nil && n > 0 {
		return n
	}
	return 3
}

// reruns is the suite's budget of extra attempts, so that a host too busy
// for every case cannot stretch the suite's time by the attempt factor:
// 12 reruns add at most about 100 s.
var reruns atomic.Int32

func init() { reruns.Store(12); unfitReruns.Store(maxUnfitReruns) }

// unfitReruns is the suite's budget of attempts run again because the host
// was unfit (checker.unfit), each after unfitPause: the stalls of a shared
// VM come in stretches of seconds to minutes. A case still unfit when the
// budget is spent is skipped, saying why: a judgement the host cannot
// support is neither a pass nor a failure of the tool.
var unfitReruns atomic.Int32

const maxUnfitReruns = 16

var unfitPause = 5 * time.Second // a variable so that unit tests need not wait

// runCase runs fn until an attempt passes or the attempts (or the suite's
// rerun budget) are used up.
func runCase(t *testing.T, r *row, fn func(c *checker)) {
	t.Helper()
	n := attempts()
	unfit := 0
	for a := 1; ; a++ {
		c := &checker{}
		r.attempts = a + unfit
		fn(c)
		if c.ok() {
			return
		}
		// A tool's own error (final) stands whatever the host did.
		if len(c.unfit) > 0 && !c.final {
			why := strings.Join(c.unfit, "; ")
			failed := strings.Join(append(c.msgs, c.notes...), "\n  ")
			if unfitReruns.Add(-1) < 0 {
				r.errPct = "not judged (host unfit)"
				t.Skipf("not judged: the host was unfit for this case in %d attempt(s) and the suite's budget for waiting is spent (%s); the last attempt's checks:\n  %s", unfit+1, why, failed)
			}
			unfit++
			a--
			t.Logf("attempt %d not counted, the host was unfit (%s); running it again in %s:\n  %s", a+unfit, why, unfitPause, failed)
			time.Sleep(unfitPause)
			continue
		}
		retry := a < n && !c.final
		if retry && reruns.Add(-1) < 0 {
			t.Log("the suite's rerun budget is spent: not running the case again")
			retry = false
		}
		if !retry {
			for _, m := range c.msgs {
				t.Error(m)
			}
			for _, m := range c.notes {
				t.Log("note: " + m)
			}
			return
		}
		t.Logf("attempt %d of %d failed, running the case again:\n  %s", a, n, strings.Join(append(c.msgs, c.notes...), "\n  "))
	}
}

// checkCommon checks what must hold for every successful test: figures
// present, CPU reported, the interval series adding up to the total with
// the omitted intervals left out, and, on this FIFO link, no reordering.
func checkCommon(c *checker, who string, r *result, s spec) {
	if !(r.recvBPS > 0) {
		c.errorf("%s: end.sum_received.bits_per_second missing or zero", who)
	}
	if math.IsNaN(r.cpuHost) || math.IsNaN(r.cpuRemote) || !(r.cpuHost > 0) {
		c.errorf("%s: end.cpu_utilization_percent: host_total=%v remote_total=%v, want both present and host_total > 0", who, r.cpuHost, r.cpuRemote)
	}
	checkIntervals(c, who, r, s)
	if s.udp {
		if math.IsNaN(r.jitterMs) || r.jitterMs < 0 {
			c.errorf("%s: jitter_ms missing or negative: %v", who, r.jitterMs)
		}
		// The qdiscs are FIFO, but veth hands each packet to the input
		// backlog of the CPU that transmits it (the sender's, or the one
		// where the shaper's timer fired), and two CPUs' backlogs drain
		// independently: swaps are real. On a quiet host they are rare
		// (stock iperf3 counted 1 in 23,000 datagrams at 500 Mbit/s), but
		// on the CI VM reverse tests saw up to 2.3 % from both tools alike
		// (iperf3 689 of 30,135; iperfmon 471 of 29,418). More than 1 in
		// 25 is the tool's error (a sequence or batch counting bug shows
		// as far more).
		if !(r.outOfOrder >= 0 && r.outOfOrder <= maxOutOfOrder(r.packets)) {
			c.errorf("%s: out_of_order = %v of %v datagrams, want at most %v on a FIFO link", who, r.outOfOrder, r.packets, maxOutOfOrder(r.packets))
		}
	}
}

// checkIntervals checks that the non-omitted intervals add up to the total
// of the same side (the client reports sender intervals in forward mode and
// receiver intervals in reverse mode), that they cover -t seconds, and
// that -O's intervals are present and flagged.
func checkIntervals(c *checker, who string, r *result, s spec) {
	series := []struct {
		name             string
		pick             func(intervalSums) *interval
		sentKey, recvKey string
	}{
		{"sum", func(i intervalSums) *interval { return i.sum }, "sum_sent", "sum_received"},
	}
	if s.dir == bidir {
		series = append(series, struct {
			name             string
			pick             func(intervalSums) *interval
			sentKey, recvKey string
		}{"sum_bidir_reverse", func(i intervalSums) *interval { return i.rev }, "sum_sent_bidir_reverse", "sum_received_bidir_reverse"})
	}
	for _, ser := range series {
		var bytes, secs float64
		omitted, counted := 0, 0
		sender := false
		for _, iv := range r.intervals {
			x := ser.pick(iv)
			if x == nil {
				continue
			}
			if x.omitted {
				omitted++
				continue
			}
			counted++
			bytes += x.bytes
			secs += x.seconds
			sender = x.sender
		}
		if counted == 0 {
			c.errorf("%s: no intervals[].%s outside the omitted period", who, ser.name)
			continue
		}
		if s.omit > 0 && omitted == 0 {
			c.errorf("%s: -O %d but no interval in intervals[].%s is flagged omitted", who, s.omit, ser.name)
		}
		key := ser.recvKey
		if sender {
			key = ser.sentKey
		}
		total := num(r.raw, "end", key, "bytes")
		if math.IsNaN(total) || math.Abs(bytes-total) > total*tolSumPct/100 {
			c.errorf("%s: intervals[].%s add up to %.0f bytes, end.%s.bytes is %.0f (omitted intervals: %d)", who, ser.name, bytes, key, total, omitted)
		}
		if math.Abs(secs-float64(s.time)) > 0.25 {
			c.errorf("%s: intervals[].%s cover %.3f s outside -O, want -t %d s", who, ser.name, secs, s.time)
		}
	}
}

// maxOutOfOrder is the reordering allowed in a test of n datagrams on the
// veth link: 1 in 25, and at least 3.
func maxOutOfOrder(n float64) float64 {
	if math.IsNaN(n) {
		return 3
	}
	return max(3, math.Floor(n/25))
}

// jitterConsistent says whether two jitter figures agree. There is no
// external truth for jitter here (an idle veth adds microseconds), and the
// figure both tools report is the last value of RFC 3550's running
// estimate, which remembers about the last 16 datagrams: it samples the
// host's scheduling noise at the end of the test and varies several-fold
// between runs of the same tool. So only the order of magnitude is
// compared: within 0.25 ms of each other, or within a factor of 4. A
// microseconds-for-milliseconds slip (1000x) fails.
func jitterConsistent(a, b float64) bool { return jitterWithin(a, b, 0.25, 4) }

// jitterConsistentShaped compares jitter across a shaper whose queue is
// full (the rate cases send 10 % over the shaped rate). There the transit
// time differences are the sender's pacing pattern against the shaper's
// even release, so two different senders (stock iperf3 3.12 paces with a
// 1 ms timer, in bursts) give different traffic, and the figure is
// noisier still: on tbf 20M, six runs of stock iperf3 against itself gave
// 0.48-0.86 ms and iperfmon against itself 0.09-0.85 ms. So the check is
// within 1 ms or a factor of 10, which still fails a unit slip (1000x).
// Two receivers on the same traffic are compared with the strict rule in
// the loss cases (stock iperf3 client, iperfmon server).
func jitterConsistentShaped(a, b float64) bool { return jitterWithin(a, b, 1, 10) }

// jitterWithin: both present and non-negative, and within abs ms of each
// other or within a factor of factor.
func jitterWithin(a, b, abs, factor float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) || a < 0 || b < 0 {
		return false
	}
	if math.Abs(a-b) <= abs {
		return true
	}
	lo, hi := min(a, b), max(a, b)
	return lo > 0 && hi/lo <= factor
}

// pct formats the relative error of got against want.
func pct(got, want float64) string {
	if math.IsNaN(got) || math.IsNaN(want) || want == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%+.2f", (got/want-1)*100)
}

// run prepares the link, runs one test and checks what every test must
// satisfy. It returns nil (with the failure recorded) when the test did
// not produce a result.
func (c *checker) run(l *link, p pair, s spec, prep func() error) *result {
	if err := prep(); err != nil {
		c.errorf("prepare the link for %s: %v", p, err)
		return nil
	}
	before := l.hostDrops(s.dir.receiver())
	r, err := l.measure(p, s)
	if d := l.hostDrops(s.dir.receiver()).minus(before); s.udp && d.backlog+d.rcvbuf > 0 {
		c.notef("%s: %s", p, d)
	}
	if err != nil {
		// The tool itself reporting an error (an "error" key in its JSON)
		// is not noise: running it again would only repeat it.
		var te *toolError
		c.final = c.final || errors.As(err, &te)
		c.errorf("%v", err)
		return nil
	}
	checkCommon(c, p.String(), r, s)
	return r
}

func isNaN(f float64) bool { return math.IsNaN(f) }

func nan() float64 { return math.NaN() }
