//go:build linux

package accuracy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/testenv"
)

// The latency bottleneck: tbf at 20 Mbit/s whose queue holds a known
// delay, limit × 8 / rate (125,000 bytes: 50 ms). The kernel has no netem,
// so the link adds no base delay: idle RTT is the veth's, well under 2 ms.
const (
	latencyRate  = 20e6
	latencyQueue = 125_000 // bytes: 50 ms at 20 Mbit/s
	latencyShort = 20_000  // bytes: 8 ms
)

// Tolerances of the latency cases: iperfmon's loaded RTT against ping's
// median over the same window of the same test, and the idle ceiling.
const (
	tolRTTPct    = 25.0
	tolRTTAbsMs  = 3.0
	maxIdleRTTMs = 2.0
)

// latencyCase is a test that loads the bottleneck, and what its loaded RTT
// must show.
type latencyCase struct {
	name     string
	dir      direction
	parallel int
	udp      bool
	cc       string // -C; "" is the host's default (BBR on the CI host)
	limit    int    // tbf queue, bytes
	// minShare is the share of the queue's delay the loaded RTT must reach
	// (0: none): a queue-filling congestion control keeps it mostly full.
	minShare float64
	// pingSocket allows unprivileged ICMP sockets in the client's
	// namespace (net.ipv4.ping_group_range), so that the probe uses one
	// instead of a raw socket.
	pingSocket bool
}

func (lc latencyCase) queueMs() float64 { return float64(lc.limit) * 8 / latencyRate * 1000 }

func latencyCases() []latencyCase {
	return []latencyCase{
		{name: "fwd cubic", dir: forward, cc: "cubic", limit: latencyQueue, minShare: 0.5},
		{name: "rev cubic ping socket", dir: reverse, cc: "cubic", limit: latencyQueue, minShare: 0.5, pingSocket: true},
		{name: "fwd -P 4 cubic ping socket", dir: forward, parallel: 4, cc: "cubic", limit: latencyQueue, minShare: 0.5, pingSocket: true},
		{name: "fwd cubic short queue", dir: forward, cc: "cubic", limit: latencyShort, minShare: 0.3},
		// 95 % of the rate: the queue stays short, but a sender that is
		// descheduled and catches up leaves a backlog that drains slowly.
		{name: "udp fwd 95%", dir: forward, udp: true, limit: latencyQueue},
		// The host's default congestion control (BBR here) keeps the queue
		// short: what users of such hosts see.
		{name: "fwd default cc", dir: forward, limit: latencyQueue},
	}
}

// TestLatency checks iperfmon's idle and loaded RTT (its ICMP probe, client
// against a stock iperf3 server) against ping run on the same link during
// the same test.
func TestLatency(t *testing.T) {
	l := newLink(t)
	ping := testenv.RequireTool(t, "ping")
	_, ours := subjects(t, l)
	if ours == nil {
		t.Skip("no iperfmon binary: the latency probe is iperfmon's own")
	}
	p := pair{client: ours.client, server: iperf3Tool(l.tl.iperf3)}
	for _, lc := range latencyCases() {
		t.Run(lc.name, func(t *testing.T) {
			// A bucket of 10 frames: under load it is empty and every
			// packet waits its turn in the queue.
			sh := shaping{qdisc: "tbf", rate: latencyRate, limit: lc.limit, burst: 10 * (linkMTU + 14)}
			r := newRow(t, "latency "+lc.name, fmt.Sprintf("%s, %.0f ms queue", mbit(latencyRate), lc.queueMs()))
			runCase(t, r, func(c *checker) {
				l.unshape(lc.dir.receiver())
				if err := l.shape(lc.dir.sender(), sh); err != nil {
					c.errorf("shape: %v", err)
					return
				}
				groups, method := "1 0", "icmp-raw" // the namespace's default: none
				if lc.pingSocket {
					groups, method = "0 2147483647", "icmp-unprivileged"
				}
				if err := l.cmd(l.tl.ip, "netns", "exec", l.ns[cliSide], "sh", "-c",
					"echo '"+groups+"' > /proc/sys/net/ipv4/ping_group_range"); err != nil {
					c.errorf("set ping_group_range: %v", err)
					return
				}
				m, err := l.measureLatency(p, ping, lc)
				if err != nil {
					c.errorf("%v", err)
					return
				}
				r.ours = fmt.Sprintf("idle %.2f, loaded %.2f ms", m.idle, m.loaded)
				r.ref = fmt.Sprintf("ping %.2f ms (%d probes)", m.ping, m.pingN)
				r.errPct = pct(m.loaded, m.ping)
				if m.method != method {
					c.errorf("iperfmon.latency.method %q, want %q", m.method, method)
				}
				checkLatency(c, lc, m)
			})
		})
	}
}

// latencyFigures are one case's numbers, in milliseconds.
type latencyFigures struct {
	idle, loaded, increase float64 // iperfmon's -J iperfmon.latency
	ping                   float64 // ping's median over the loaded window
	pingN                  int
	method                 string // iperfmon's socket: icmp-raw or icmp-unprivileged
}

func checkLatency(c *checker, lc latencyCase, m latencyFigures) {
	if !(m.idle < maxIdleRTTMs) {
		c.errorf("idle_rtt_ms %.3f: want below %.0f ms on an unloaded veth", m.idle, maxIdleRTTMs)
	}
	if m.pingN < 100 {
		c.errorf("only %d ping replies in the loaded window; want at least 100", m.pingN)
		return
	}
	if tol := max(m.ping*tolRTTPct/100, tolRTTAbsMs); math.IsNaN(m.loaded) || math.Abs(m.loaded-m.ping) > tol {
		c.errorf("loaded_rtt_ms %.2f: want ping's median %.2f ±%.2f ms", m.loaded, m.ping, tol)
	}
	if want := lc.minShare * lc.queueMs(); lc.minShare > 0 && !(m.loaded >= want) {
		c.errorf("loaded_rtt_ms %.2f: want at least %.0f%% of the %.0f ms queue (%.1f ms) with %s", m.loaded, lc.minShare*100, lc.queueMs(), want, lc.cc)
	}
	if limit := lc.queueMs() + tolRTTAbsMs + maxIdleRTTMs; m.loaded > limit {
		c.errorf("loaded_rtt_ms %.2f: more than the queue can hold (%.1f ms)", m.loaded, limit)
	}
	if math.Abs(m.increase-(m.loaded-m.idle)) > 1e-6 {
		c.errorf("rtt_increase_ms %.4f is not loaded − idle (%.4f)", m.increase, m.loaded-m.idle)
	}
}

// Test timing of the latency cases: -O 1 -t 5, so that iperfmon's median
// rests on about 50 probes (BBR's queue swings by several ms within a test).
const (
	latencyTime = 5
	latencyOmit = 1
)

func unixTime(sec float64) time.Time { return time.Unix(0, int64(sec*1e9)) }

// measureLatency runs one test with --latency, ping alongside it from the
// client's namespace, and returns both views.
func (l *link) measureLatency(p pair, ping string, lc latencyCase) (latencyFigures, error) {
	fig := latencyFigures{}
	port := l.nextPort()
	ctx, cancel := context.WithTimeout(context.Background(), (latencyTime+latencyOmit+25)*time.Second)
	defer cancel()
	srv, err := l.start(ctx, srvSide, nil, p.server.path, p.server.serverArgs(port)...)
	if err != nil {
		return fig, err
	}
	defer srv.stop()
	if err := l.waitListening(srv, port); err != nil {
		return fig, fmt.Errorf("%s server: %w", p.server.name, err)
	}
	// -D: each reply's receive time. 50 probes/s (34 kbit/s, nothing
	// next to 20 Mbit/s): the reference's median is then sharper than
	// the subject's 10/s, and the comparison tests iperfmon, not ping's
	// sampling. Bounded by -w.
	pg, err := l.start(ctx, cliSide, nil, ping, "-D", "-n", "-i", "0.02", "-w", strconv.Itoa(latencyTime+latencyOmit+10), srvAddr4)
	if err != nil {
		return fig, err
	}
	defer pg.stop()
	args := append(p.client.clientArgs(srvAddr4, port), "-J", "--latency", "-4",
		"-t", strconv.Itoa(latencyTime), "-O", strconv.Itoa(latencyOmit))
	if lc.dir == reverse {
		args = append(args, "-R")
	}
	if lc.parallel > 1 {
		args = append(args, "-P", strconv.Itoa(lc.parallel))
	}
	if lc.cc != "" {
		args = append(args, "-C", lc.cc)
	}
	if lc.udp {
		// 95 % of the link on the wire, in payload bits as -b counts them.
		b := 0.95 * goodput(latencyRate, true, 4, 1400)
		args = append(args, "-u", "-b", strconv.Itoa(int(b)), "-l", "1400", "-w", udpWindow())
	}
	cli, err := l.start(ctx, cliSide, nil, p.client.path, args...)
	if err != nil {
		return fig, err
	}
	<-cli.done
	// SIGINT: ping prints what it has and exits.
	_ = syscall.Kill(-pg.cmd.Process.Pid, syscall.SIGINT)
	_ = pg.wait(3 * time.Second)
	if cli.err != nil {
		return fig, fmt.Errorf("%s client: %v: %s", p.client.name, cli.err, cli.stderr.String())
	}
	res, err := parseResult(cli.stdout.Bytes())
	if err != nil {
		return fig, err
	}
	lat := get(res.raw, "iperfmon", "latency")
	if lat == nil {
		return fig, fmt.Errorf("no iperfmon.latency in the client's -J output (stderr: %s)", cli.stderr.String())
	}
	fig.method, _ = get(lat, "method").(string)
	fig.idle, fig.loaded, fig.increase = num(lat, "idle_rtt_ms"), num(lat, "loaded_rtt_ms"), num(lat, "rtt_increase_ms")
	// ping's probes sent between iperfmon's first and last loaded probe:
	// the cubic sawtooth takes seconds, so the windows must match.
	from, to := num(lat, "loaded", "first_probe_unix"), num(lat, "loaded", "last_probe_unix")
	if math.IsNaN(from) || math.IsNaN(to) || to-from < latencyTime-1 {
		return fig, fmt.Errorf("iperfmon.latency.loaded: window %v..%v missing or shorter than %d s", from, to, latencyTime-1)
	}
	rtts := pingRTTs(pg.stdout.Bytes(), unixTime(from), unixTime(to))
	fig.pingN = len(rtts)
	fig.ping = median(rtts)
	return fig, nil
}

var pingLine = regexp.MustCompile(`^\[(\d+\.\d+)\] .* time=([0-9.]+) ms`)

// pingRTTs returns the RTTs (ms) of ping -D's replies to probes sent in
// [from, to]: a reply's timestamp minus its RTT is when it was sent.
func pingRTTs(out []byte, from, to time.Time) []float64 {
	var rtts []float64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := pingLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		at, err1 := strconv.ParseFloat(m[1], 64)
		rtt, err2 := strconv.ParseFloat(m[2], 64)
		if err1 != nil || err2 != nil {
			continue
		}
		sent := time.Unix(0, int64(at*1e9)).Add(-time.Duration(rtt * float64(time.Millisecond)))
		if !sent.Before(from) && !sent.After(to) {
			rtts = append(rtts, rtt)
		}
	}
	return rtts
}

// median is the middle value (the mean of the middle two), NaN for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// The ping parser and the window, on ping -D's own output.
func TestPingRTTs(t *testing.T) {
	out := []byte(`PING 192.0.2.1 (192.0.2.1) 56(84) bytes of data.
[1000.100000] 64 bytes from 192.0.2.1: icmp_seq=1 ttl=64 time=0.050 ms
[1000.250000] 64 bytes from 192.0.2.1: icmp_seq=2 ttl=64 time=50.0 ms
[1000.345000] 64 bytes from 192.0.2.1: icmp_seq=3 ttl=64 time=45.0 ms
[1000.500000] 64 bytes from 192.0.2.1: icmp_seq=4 ttl=64 time=0.040 ms

--- 192.0.2.1 ping statistics ---
`)
	from, to := time.Unix(1000, 150_000_000), time.Unix(1000, 400_000_000)
	got := pingRTTs(out, from, to)
	if !slices.Equal(got, []float64{50, 45}) {
		t.Fatalf("pingRTTs: got %v, want [50 45] (sent at 1000.200 and 1000.300)", got)
	}
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{7}, 7}} {
		if m := median(tc.in); m != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, m, tc.want)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing is not NaN")
	}
}
