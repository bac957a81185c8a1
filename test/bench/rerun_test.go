package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestRerunPolicy(t *testing.T) {
	p := rerunPolicy{maxSteal: 2, maxOther: 10, perKey: 3, budget: 60 * time.Second}
	tests := []struct {
		name         string
		steal, other float64
		reruns       int
		spent, next  time.Duration
		want         verdict
		policyChange func(*rerunPolicy)
	}{
		{name: "clean", steal: 0.4, want: keep},
		{name: "at the threshold", steal: 2, want: keep},
		{name: "disturbed", steal: 2.1, want: rerun},
		{name: "other work at the threshold", other: 10, want: keep},
		{name: "other work", steal: 0.1, other: 36, want: rerun},
		{name: "other work, reruns used up", other: 36, reruns: 3, want: discard},
		{name: "clean after reruns", steal: 1, reruns: 3, spent: time.Hour, want: keep},
		{name: "last rerun of the key", steal: 9, reruns: 2, want: rerun},
		{name: "key's reruns used up", steal: 9, reruns: 3, want: discard},
		{name: "budget fits one more", steal: 9, spent: 55 * time.Second, next: 5 * time.Second, want: rerun},
		{name: "budget used up", steal: 9, spent: 56 * time.Second, next: 5 * time.Second, want: discard},
		{name: "no reruns allowed", steal: 9, want: discard, policyChange: func(p *rerunPolicy) { p.perKey = 0 }},
		{name: "thresholds 100 keep all", steal: 99, other: 100, reruns: 3, want: keep, policyChange: func(p *rerunPolicy) { p.maxSteal, p.maxOther = 100, 100 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := p
			if tc.policyChange != nil {
				tc.policyChange(&q)
			}
			d := disturbance{steal: tc.steal, other: tc.other}
			if got := q.decide(d, tc.reruns, tc.spent, tc.next); got != tc.want {
				t.Fatalf("decide(%+v, %d, %v, %v) = %v, want %v", d, tc.reruns, tc.spent, tc.next, got, tc.want)
			}
		})
	}
}

// A row needs minClean clean runs on both sides; medians and spreads leave
// the disturbed runs out, and the steal cell counts them.
func TestRatioRowDiscards(t *testing.T) {
	run := func(gbit, steal, other float64, disturbed bool) sample {
		return sample{bps: gbit * 1e9, dist: disturbance{steal: steal, other: other}, disturbed: disturbed}
	}
	clean := func(gbits ...float64) []sample {
		var out []sample
		for _, g := range gbits {
			out = append(out, run(g, 0.5, 3, false))
		}
		return out
	}
	cfg := config{minClean: 3}
	tests := []struct {
		name                  string
		stock, ours           []sample
		wantRatio, wantSteal  string
		wantMet, wantNotShown bool
	}{
		{name: "all clean, met", stock: clean(10, 11, 12), ours: clean(12, 12, 13), wantRatio: "1.09", wantSteal: "3 / 3 clean, 0 / 0 discarded; steal ≤ 0.5%, other ≤ 3%", wantMet: true},
		// The disturbed 1 Gbit/s run would drag iperfmon's median to 11.
		{name: "disturbed run left out", stock: clean(10, 11, 12), ours: append(clean(12, 12, 13), run(1, 30, 5, true)), wantRatio: "1.09", wantSteal: "3 / 3 clean, 0 / 1 discarded; steal ≤ 0.5% (30.0%), other ≤ 3% (5%)", wantMet: true},
		{name: "busy run left out", stock: append(clean(10, 11, 12), run(40, 0, 36, true), run(40, 9, 2, true)), ours: clean(10, 10, 10), wantRatio: "0.91", wantSteal: "3 / 3 clean, 2 / 0 discarded; steal ≤ 0.5% (9.0%), other ≤ 3% (36%)"},
		{name: "too few clean", stock: clean(10, 11, 12), ours: append(clean(12, 13), run(1, 30, 0, true), run(1, 12, 0, true)), wantSteal: "3 / 2 clean, 0 / 2 discarded; steal ≤ 0.5% (30.0%), other ≤ 3% (0%)", wantNotShown: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := results{key{"tcp", ss}: tc.stock, key{"tcp", os_}: tc.ours}
			rw := ratioRow(cfg, r, "x", "tcp", ss, os_, gbps, 1.0, true)
			if rw.steal != tc.wantSteal || rw.met != tc.wantMet || (rw.tooFew != "") != tc.wantNotShown {
				t.Fatalf("row %+v: want steal %q met %v not shown %v", rw, tc.wantSteal, tc.wantMet, tc.wantNotShown)
			}
			if tc.wantRatio != "" {
				if got := fmt.Sprintf("%.2f", rw.ours/rw.stock); got != tc.wantRatio {
					t.Fatalf("ratio %s, want %s", got, tc.wantRatio)
				}
			}
			var b strings.Builder
			printTable(&b, config{minClean: 3, policy: rerunPolicy{maxSteal: 2}}, []row{rw}, time.Second)
			if tc.wantNotShown && !strings.Contains(b.String(), "| too few clean runs (3 / 2, want 3) | ≥ 1.0 | not shown |") {
				t.Fatalf("table does not say the row is not shown:\n%s", b.String())
			}
		})
	}
}
