package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// cpuTimes is one "cpuN" line of /proc/stat, in clock ticks. guest and
// guest_nice are left out: the kernel already counts them in user and nice.
type cpuTimes struct {
	user, nice, system, idle, iowait, irq, softirq, steal uint64
}

func (c cpuTimes) total() uint64 {
	return c.user + c.nice + c.system + c.idle + c.iowait + c.irq + c.softirq + c.steal
}

// busy is time the CPU ran something: not idle, not waiting for I/O and
// not taken by the hypervisor.
func (c cpuTimes) busy() uint64 { return c.total() - c.idle - c.iowait - c.steal }

// parseProcStat reads the per-CPU lines ("cpu0", "cpu1", ...) of
// /proc/stat's text; the summary "cpu" line is skipped.
func parseProcStat(text string) (map[int]cpuTimes, error) {
	out := map[int]cpuTimes{}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimPrefix(f[0], "cpu"))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("/proc/stat: bad CPU name %q", f[0])
		}
		// steal came with Linux 2.6.11; older lines are too short to judge.
		if len(f) < 9 {
			return nil, fmt.Errorf("/proc/stat: line %q has %d fields, want at least 8 numbers (user ... steal)", f[0], len(f)-1)
		}
		var v [8]uint64
		for i := range v {
			if v[i], err = strconv.ParseUint(f[i+1], 10, 64); err != nil {
				return nil, fmt.Errorf("/proc/stat: %s field %d %q: %v", f[0], i+1, f[i+1], err)
			}
		}
		out[n] = cpuTimes{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("/proc/stat: no cpuN lines")
	}
	return out, nil
}

func readProcStat() (map[int]cpuTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, err
	}
	return parseProcStat(string(b))
}

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
func measureDisturbance(before, after map[int]cpuTimes, cpus []int, procCPU, wall float64) (disturbance, error) {
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
		if a.total() < b.total() || a.steal < b.steal || a.busy() < b.busy() {
			return disturbance{}, fmt.Errorf("CPU %d: /proc/stat counters went backwards", c)
		}
		t := a.total() - b.total()
		if t > 0 {
			d.steal = max(d.steal, 100*float64(a.steal-b.steal)/float64(t))
		}
		total += t
		busy += a.busy() - b.busy()
	}
	if total > 0 && wall > 0 && len(cpus) > 0 {
		ticksPerCPUSecond := float64(total) / float64(len(cpus)) / wall
		procTicks := procCPU * ticksPerCPUSecond
		d.other = max(0, 100*(float64(busy)-procTicks)/float64(total))
	}
	return d, nil
}
