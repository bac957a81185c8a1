package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/iperfmon/iperfmon/internal/procstat"
)

// parseCPUList reads a taskset -c list ("0", "0-3,6"). Empty is nil:
// unpinned.
func parseCPUList(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 0 || b < a {
			return nil, fmt.Errorf("CPU list %q: %q is not a CPU number or range like 0-3", s, part)
		}
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// watchedCPUs are the CPUs a run can be disturbed on: the pinned ones of
// client and server, or every CPU when either side is unpinned.
func watchedCPUs(client, server string) ([]int, error) {
	c, err := parseCPUList(client)
	if err != nil {
		return nil, fmt.Errorf("BENCH_CLIENT_CPUS: %w", err)
	}
	s, err := parseCPUList(server)
	if err != nil {
		return nil, fmt.Errorf("BENCH_SERVER_CPUS: %w", err)
	}
	if c == nil || s == nil {
		return nil, nil // all
	}
	all := append(c, s...)
	slices.Sort(all)
	return slices.Compact(all), nil
}

// disturbance is what else happened on the watched CPUs during a run.
type disturbance struct {
	// steal is the largest share of one watched CPU's time that the
	// hypervisor gave to another guest, in percent: a pinned client or
	// server stalls when its own CPU is stolen, whatever the other's was.
	steal float64
	// other is the share of the watched CPUs' time (all of them together)
	// that was busy beyond the two processes' own CPU seconds, in percent:
	// other jobs, and kernel work not charged to either process (softirq
	// in ksoftirqd). Approximate; shown, not judged.
	other float64
}

// measureDisturbance compares two /proc/stat readings over cpus (nil: all
// CPUs in both) with procCPU, the CPU seconds the measured processes used,
// and wall, the seconds between the readings. The clock-tick rate comes
// from the readings themselves (total ticks over wall time), so USER_HZ is
// not assumed.
func measureDisturbance(before, after map[int]procstat.CPUTimes, cpus []int, procCPU, wall float64) (disturbance, error) {
	if cpus == nil {
		for c := range after {
			if _, ok := before[c]; ok {
				cpus = append(cpus, c)
			}
		}
		slices.Sort(cpus)
	}
	var d disturbance
	var total, busy uint64
	for _, c := range cpus {
		b, ok1 := before[c]
		a, ok2 := after[c]
		if !ok1 || !ok2 {
			return disturbance{}, fmt.Errorf("CPU %d is not in /proc/stat", c)
		}
		if a.Total() < b.Total() || a.Steal < b.Steal || a.Busy() < b.Busy() {
			return disturbance{}, fmt.Errorf("CPU %d: /proc/stat counters went backwards", c)
		}
		t := a.Total() - b.Total()
		if t > 0 {
			d.steal = max(d.steal, 100*float64(a.Steal-b.Steal)/float64(t))
		}
		total += t
		busy += a.Busy() - b.Busy()
	}
	if total > 0 && wall > 0 && len(cpus) > 0 {
		ticksPerCPUSecond := float64(total) / float64(len(cpus)) / wall
		procTicks := procCPU * ticksPerCPUSecond
		d.other = max(0, 100*(float64(busy)-procTicks)/float64(total))
	}
	return d, nil
}
