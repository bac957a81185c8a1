package main

import (
	"fmt"
	"io"
	"time"
)

// row is one line of the table. stock < 0 means the row has no iperf3
// figure (an absolute target).
type row struct {
	name        string
	stock, ours float64
	spread      string // spread of both tools' samples, for the reader
	target      string // "" for information only
	met         bool
	absolute    bool
	// steal says how many runs of each side were discarded as disturbed
	// and the most steal and other work seen; tooFew, when set, replaces
	// the ratio.
	steal  string
	tooFew string
}

// Figures the rows are built from.
var (
	gbps     = func(s sample) float64 { return s.bps / 1e9 }
	kpps     = func(s sample) float64 { return s.pps / 1e3 }
	lossPct  = func(s sample) float64 { return s.lossPct }
	clientMB = func(s sample) float64 { return float64(s.clientRSS) / 1e6 }
	serverMB = func(s sample) float64 { return float64(s.serverRSS) / 1e6 }
)

// cpuPerGbit is CPU seconds per gigabit received, of the client, the
// server or both. The CPU figure covers the whole process lifetime, so the
// gigabits are the received rate over -O plus -t (a slight overestimate of
// the cost for both tools alike).
func cpuPerGbit(cfg config, which string) func(sample) float64 {
	return func(s sample) float64 {
		gbit := s.bps / 1e9 * float64(cfg.seconds+cfg.omit)
		if gbit == 0 {
			return 0
		}
		var cpu float64
		switch which {
		case "client":
			cpu = s.clientCPU
		case "server":
			cpu = s.srvCPU
		default:
			cpu = s.clientCPU + s.srvCPU
		}
		return cpu / gbit
	}
}

// ratioRow compares the medians of f for the pairings base (iperf3 only)
// and test (iperfmon in some role). higher says whether more is better.
func ratioRow(cfg config, r results, name, mode string, base, test pairing, f func(sample) float64, target float64, higher bool) row {
	kb, kt := key{mode, base}, key{mode, test}
	if len(r[kb]) == 0 || len(r[kt]) == 0 {
		return row{}
	}
	rw := row{name: name, stock: r.med(kb, f), ours: r.med(kt, f)}
	rw.spread = fmt.Sprintf("%.0f%% / %.0f%%", r.spread(kb, f), r.spread(kt, f))
	rw.steal = stealCell(r, kb, kt)
	if target > 0 {
		rw.target = fmt.Sprintf("≤ %.1f", target)
		if higher {
			rw.target = fmt.Sprintf("≥ %.1f", target)
		}
	}
	cb, ct := len(r.clean(kb)), len(r.clean(kt))
	if cb < cfg.minClean || ct < cfg.minClean {
		rw.tooFew = fmt.Sprintf("too few clean runs (%d / %d, want %d)", cb, ct, cfg.minClean)
		return rw // met stays false: not shown is not met
	}
	if target > 0 && rw.stock > 0 {
		ratio := rw.ours / rw.stock
		rw.met = ratio <= target
		if higher {
			rw.met = ratio >= target
		}
	}
	return rw
}

// stealCell is "clean and discarded runs, iperf3 / iperfmon; most steal
// and other work in a kept run (in a discarded one)".
func stealCell(r results, kb, kt key) string {
	nb, db, cb := r.discarded(kb)
	nt, dt, ct := r.discarded(kt)
	s := fmt.Sprintf("%d / %d clean, %d / %d discarded; steal ≤ %.1f%%", len(r.clean(kb)), len(r.clean(kt)), nb, nt, max(cb.steal, ct.steal))
	if nb+nt > 0 {
		s += fmt.Sprintf(" (%.1f%%)", max(db.steal, dt.steal))
	}
	s += fmt.Sprintf(", other ≤ %.0f%%", max(cb.other, ct.other))
	if nb+nt > 0 {
		s += fmt.Sprintf(" (%.0f%%)", max(db.other, dt.other))
	}
	return s
}

func buildRows(cfg config, r results) []row {
	var rows []row
	add := func(rw row) {
		if rw.name != "" {
			rows = append(rows, rw)
		}
	}
	tcp := []struct{ mode, label string }{{"tcp", "TCP 1 stream"}, {"tcp-R", "TCP -R"}, {"tcp-P4", "TCP -P 4"}, {"tcp-P8", "TCP -P 8"}, {"tcp-P16", "TCP -P 16"}}
	for _, m := range tcp {
		add(ratioRow(cfg, r, m.label+", iperfmon client → iperf3 -s (Gbit/s)", m.mode, ss, os_, gbps, 1.0, true))
		add(ratioRow(cfg, r, m.label+", iperf3 client → iperfmon server (Gbit/s)", m.mode, ss, so, gbps, 1.0, true))
		add(ratioRow(cfg, r, m.label+", iperfmon ↔ iperfmon (Gbit/s)", m.mode, ss, oo, gbps, 0, true))
	}
	for _, m := range []struct{ mode, label string }{{"udp1400", "UDP -b 0 -l 1400"}, {"udp64", "UDP -b 0 -l 64"}} {
		add(ratioRow(cfg, r, m.label+", received (kpps)", m.mode, ss, oo, kpps, 1.5, true))
		add(ratioRow(cfg, r, m.label+", loss (%)", m.mode, ss, oo, lossPct, 0, false))
	}
	// Against stock iperf3's own batching (--gsro) the target is parity.
	add(ratioRow(cfg, r, "UDP -b 0 -l 1400, iperf3 with --gsro, received (kpps)", "udp1400-gsro", ss, oo, kpps, 1.0, true))
	add(ratioRow(cfg, r, "UDP -b 0 -l 1400, iperf3 with --gsro, loss (%)", "udp1400-gsro", ss, oo, lossPct, 0, false))
	// On loopback the receiving half of the kernel's TCP work (softirq,
	// ACKs) runs on whichever CPU happens to transmit, so one process's
	// share swings between runs (an iperf3 -P 4 client: 1.1 to 3.8 s of CPU
	// in the same 4 s test). The target is on client+server, the cost of a
	// test to whoever runs it; each side's share is shown too.
	for _, m := range tcp {
		add(ratioRow(cfg, r, "CPU s/Gbit (client+server), "+m.label+", iperfmon client → iperf3 -s", m.mode, ss, os_, cpuPerGbit(cfg, "both"), 1.0, false))
		add(ratioRow(cfg, r, "CPU s/Gbit (client+server), "+m.label+", iperf3 client → iperfmon server", m.mode, ss, so, cpuPerGbit(cfg, "both"), 1.0, false))
	}
	for _, m := range tcp {
		add(ratioRow(cfg, r, "CPU s/Gbit, "+m.label+", the client alone (iperfmon client → iperf3 -s)", m.mode, ss, os_, cpuPerGbit(cfg, "client"), 0, false))
		add(ratioRow(cfg, r, "CPU s/Gbit, "+m.label+", the server alone (iperf3 client → iperfmon server)", m.mode, ss, so, cpuPerGbit(cfg, "server"), 0, false))
	}
	add(ratioRow(cfg, r, "CPU s/Gbit, UDP -l 1400, client+server", "udp1400", ss, oo, cpuPerGbit(cfg, "both"), 1.0, false))
	add(ratioRow(cfg, r, "CPU s/Gbit, UDP -l 64, client+server", "udp64", ss, oo, cpuPerGbit(cfg, "both"), 1.0, false))
	add(ratioRow(cfg, r, "CPU s/Gbit, UDP -l 1400 (iperf3 with --gsro), client+server", "udp1400-gsro", ss, oo, cpuPerGbit(cfg, "both"), 1.0, false))
	add(ratioRow(cfg, r, "peak RSS, TCP -P 4 client (MB)", "tcp-P4", ss, os_, clientMB, 0, false))
	add(ratioRow(cfg, r, "peak RSS, TCP -P 4 server (MB)", "tcp-P4", ss, so, serverMB, 0, false))
	add(ratioRow(cfg, r, "peak RSS, UDP -l 64 server (MB)", "udp64", ss, oo, serverMB, 0, false))
	return rows
}

func printTable(w io.Writer, cfg config, rows []row, took time.Duration) {
	v := cfg.stockVersion
	if v == "" {
		v = "(version unknown)"
	}
	fmt.Fprintf(w, "Loopback, against stock iperf3 %s; %d repetitions of -t %d -O %d, alternating order; medians of the clean runs. Client on CPUs %q, server on %q (empty: unpinned). A run is discarded when the hypervisor stole more than %g%% of a watched CPU or other work kept the watched CPUs more than %g%% busy (rerun after the next quiet second, waiting at most %s, at most %d times per pairing and %s in all); \"disturbed\" gives the runs kept and discarded (iperf3 / iperfmon pairing) and the most steal and other work in a kept run and, in brackets, in a discarded one. Took %s.\n\n",
		v, cfg.reps, cfg.seconds, cfg.omit, cfg.clientCPUs, cfg.serverCPUs, cfg.policy.maxSteal, cfg.policy.maxOther, cfg.settle, cfg.policy.perKey, cfg.policy.budget, took.Round(time.Second))
	fmt.Fprintf(w, "| test | iperf3 %[1]s | iperfmon | ratio to %[1]s | target | met | spread iperf3 / iperfmon | disturbed |\n", v)
	fmt.Fprintln(w, "|---|---:|---:|---:|---|---|---|---|")
	for _, r := range rows {
		stock, ratio := "", ""
		if !r.absolute {
			stock = num(r.stock)
			if r.stock > 0 {
				ratio = fmt.Sprintf("%.2f", r.ours/r.stock)
			}
		}
		met := ""
		if r.target != "" {
			met = "no"
			if r.met {
				met = "yes"
			}
		}
		if r.tooFew != "" {
			ratio = r.tooFew
			if r.target != "" {
				met = "not shown"
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.name, stock, num(r.ours), ratio, r.target, met, r.spread, r.steal)
	}
}

func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}
