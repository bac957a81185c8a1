package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/iperfmon/iperfmon/internal/ports"
	"github.com/iperfmon/iperfmon/internal/procstat"
)

// iperfJSON is the part of iperf3's -J document (and iperfmon's, which has
// the same shape) that the table needs.
type iperfJSON struct {
	Error string `json:"error"`
	End   struct {
		SumReceived struct {
			Seconds     float64 `json:"seconds"`
			Bytes       float64 `json:"bytes"`
			BitsPerSec  float64 `json:"bits_per_second"`
			LostPackets float64 `json:"lost_packets"`
			Packets     float64 `json:"packets"`
		} `json:"sum_received"`
	} `json:"end"`
}

type tool int

const (
	stock tool = iota
	ours
)

func (t tool) String() string { return [...]string{"iperf3", "iperfmon"}[t] }

// mode is one test shape, run by every pairing in pairs.
type mode struct {
	name   string
	args   []string
	udpLen int // UDP datagram size; 0 for TCP
	pairs  []pairing
	// stockArgs go to a stock iperf3 client only, gsro says they need a
	// stock iperf3 that has --gsro (3.21 and later; the mode is left out
	// otherwise).
	stockArgs []string
	gsro      bool
}

// pairing is (client tool, server tool).
type pairing struct{ client, server tool }

var (
	ss  = pairing{stock, stock}
	os_ = pairing{ours, stock} // iperfmon client against iperf3 -s
	so  = pairing{stock, ours} // iperf3 client against iperfmon server
	oo  = pairing{ours, ours}
)

func (p pairing) String() string { return p.client.String() + "→" + p.server.String() }

var modes = []mode{
	{name: "tcp", args: []string{"-l", "128K"}, pairs: []pairing{ss, os_, so, oo}},
	{name: "tcp-R", args: []string{"-l", "128K", "-R"}, pairs: []pairing{ss, os_, so, oo}},
	{name: "tcp-P4", args: []string{"-l", "128K", "-P", "4"}, pairs: []pairing{ss, os_, so, oo}},
	{name: "tcp-P8", args: []string{"-l", "128K", "-P", "8"}, pairs: []pairing{ss, os_, so, oo}},
	{name: "tcp-P16", args: []string{"-l", "128K", "-P", "16"}, pairs: []pairing{ss, os_, so, oo}},
	{name: "udp1400", args: []string{"-u", "-b", "0", "-l", "1400"}, udpLen: 1400, pairs: []pairing{ss, oo}},
	{name: "udp64", args: []string{"-u", "-b", "0", "-l", "64"}, udpLen: 64, pairs: []pairing{ss, oo}},
	// Both tools batching: stock iperf3 with UDP GSO/GRO.
	{name: "udp1400-gsro", args: []string{"-u", "-b", "0", "-l", "1400"}, udpLen: 1400, pairs: []pairing{ss, oo}, stockArgs: []string{"--gsro"}, gsro: true},
}

// sample is one run's figures.
type sample struct {
	bps, pps, lossPct    float64
	clientCPU, srvCPU    float64 // seconds
	clientRSS, serverRSS int64
	clientCSW, serverCSW int64 // context switches
	// What else ran on the watched CPUs (procstat.go); a disturbed run
	// (above BENCH_MAX_STEAL or BENCH_MAX_OTHER) is kept for the count, not
	// the figures.
	dist      disturbance
	disturbed bool
}

type key struct {
	mode string
	pair pairing
}

// results holds every sample by (mode, pairing), disturbed ones included.
type results map[key][]sample

// clean is the samples of k that count.
func (r results) clean(k key) []sample {
	var out []sample
	for _, s := range r[k] {
		if !s.disturbed {
			out = append(out, s)
		}
	}
	return out
}

// discarded counts the disturbed samples of k and gives the most steal
// and other work among them and among the clean ones.
func (r results) discarded(k key) (n int, worstDiscarded, worstClean disturbance) {
	for _, s := range r[k] {
		w := &worstClean
		if s.disturbed {
			n++
			w = &worstDiscarded
		}
		w.steal, w.other = max(w.steal, s.dist.steal), max(w.other, s.dist.other)
	}
	return n, worstDiscarded, worstClean
}

func argv(cfg config, t tool, server bool, port int, m mode) []string {
	bin := cfg.iperf3
	if t == ours {
		bin = cfg.iperfmon
	}
	p := strconv.Itoa(port)
	if server {
		if t == ours {
			return []string{bin, "server", "-1", "-B", "127.0.0.1", "-p", p}
		}
		return []string{bin, "-s", "-1", "-B", "127.0.0.1", "-p", p}
	}
	a := []string{bin, "-c", "127.0.0.1", "-p", p, "-J", "-t", strconv.Itoa(cfg.seconds), "-O", strconv.Itoa(cfg.omit)}
	a = append(a, m.args...) // iperfmon takes iperf3's -c alias
	if t == stock {
		a = append(a, m.stockArgs...)
	}
	return a
}

// measureAll runs every (mode, pairing) cfg.reps times; odd repetitions go
// through the list backwards so that neither tool always runs first.
func measureAll(ctx context.Context, cfg config) (results, error) {
	var order []key
	for _, m := range modes {
		if !cfg.only.MatchString(m.name) || (m.gsro && !cfg.gsro) {
			continue
		}
		for _, p := range m.pairs {
			order = append(order, key{m.name, p})
		}
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("BENCH_ONLY matches no mode")
	}
	byName := map[string]mode{}
	for _, m := range modes {
		byName[m.name] = m
	}
	res := results{}
	limit := time.Duration(cfg.seconds+cfg.omit+30) * time.Second
	oneRun := time.Duration(cfg.seconds+cfg.omit+1) * time.Second
	var spent time.Duration // on reruns
	for rep := range cfg.reps {
		list := slices.Clone(order)
		if rep%2 == 1 {
			slices.Reverse(list)
		}
		for _, k := range list {
			m := byName[k.mode]
			// A disturbed run is run again here, before the next pairing,
			// so the alternating order holds.
			for attempt := 0; ; attempt++ {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				start := time.Now()
				if attempt > 0 {
					// A burst of steal lasts seconds to minutes: rerunning
					// straight into it would only use up the reruns.
					if err := settle(ctx, cfg); err != nil {
						return nil, err
					}
				}
				s, err := measureOne(ctx, cfg, m, k, limit)
				if err != nil {
					return nil, fmt.Errorf("%s %s: %w", k.mode, k.pair, err)
				}
				took := time.Since(start)
				if attempt > 0 {
					spent += took
				}
				reruns := 0
				for _, x := range res[k] {
					if x.disturbed {
						reruns++
					}
				}
				v := cfg.policy.decide(s.dist, reruns, spent, max(took, oneRun)+cfg.settle)
				s.disturbed = v != keep
				fmt.Fprintf(os.Stderr, "I! rep %d %-7s %-18s %8.2f Gbit/s %9.0f pps loss %5.2f%% cpu c %.2fs s %.2fs csw c %d s %d rss c %dM s %dM steal %.1f%% other %.0f%% %s\n",
					rep+1, k.mode, k.pair, s.bps/1e9, s.pps, s.lossPct, s.clientCPU, s.srvCPU, s.clientCSW, s.serverCSW, s.clientRSS>>20, s.serverRSS>>20, s.dist.steal, s.dist.other, v)
				res[k] = append(res[k], s)
				if v != rerun {
					break
				}
			}
		}
	}
	return res, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// settle waits, at most cfg.settle, for a second in which the watched
// CPUs were neither stolen from nor busy beyond the thresholds.
func settle(ctx context.Context, cfg config) error {
	deadline := time.Now().Add(cfg.settle)
	for time.Now().Before(deadline) {
		before, err := procstat.Read()
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
		after, err := procstat.Read()
		if err != nil {
			return err
		}
		d, err := measureDisturbance(before, after, cfg.cpus, 0, 1)
		if err != nil {
			return err
		}
		if d.steal <= cfg.policy.maxSteal && d.other <= cfg.policy.maxOther {
			return nil
		}
	}
	return nil
}

// measureOne runs one (mode, pairing) and reads /proc/stat around it.
func measureOne(ctx context.Context, cfg config, m mode, k key, limit time.Duration) (sample, error) {
	port, err := ports.Free("127.0.0.1")
	if err != nil {
		return sample{}, err
	}
	before, err := procstat.Read()
	if err != nil {
		return sample{}, err
	}
	t0 := time.Now()
	js, cu, su, err := runPair(ctx, cfg, argv(cfg, k.pair.server, true, port, m), argv(cfg, k.pair.client, false, port, m), port, limit)
	if err != nil {
		return sample{}, err
	}
	wall := time.Since(t0).Seconds()
	after, err := procstat.Read()
	if err != nil {
		return sample{}, err
	}
	r := js.End.SumReceived
	s := sample{bps: r.BitsPerSec, clientCPU: cu.cpu, srvCPU: su.cpu, clientRSS: cu.maxRSS, serverRSS: su.maxRSS, clientCSW: cu.csw, serverCSW: su.csw}
	if m.udpLen > 0 && r.Seconds > 0 {
		s.pps = r.Bytes / float64(m.udpLen) / r.Seconds
		if r.Packets > 0 {
			s.lossPct = 100 * r.LostPackets / r.Packets
		}
	}
	if s.dist, err = measureDisturbance(before, after, cfg.cpus, cu.cpu+su.cpu, wall); err != nil {
		return sample{}, err
	}
	return s, nil
}

// med is the median of f over the clean samples of k.
func (r results) med(k key, f func(sample) float64) float64 {
	var xs []float64
	for _, s := range r.clean(k) {
		xs = append(xs, f(s))
	}
	return median(xs)
}

// spread is (max-min)/median of f over the clean samples of k, in percent.
func (r results) spread(k key, f func(sample) float64) float64 {
	var xs []float64
	for _, s := range r.clean(k) {
		xs = append(xs, f(s))
	}
	m := median(xs)
	if len(xs) < 2 || m == 0 {
		return 0
	}
	return 100 * (slices.Max(xs) - slices.Min(xs)) / m
}
