// Package procstat reads the per-CPU times of Linux's /proc/stat, so that
// a measurement can tell whether the host disturbed it: the hypervisor
// giving a CPU's time to another guest (steal), or other work.
package procstat

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// CPUTimes is one "cpuN" line of /proc/stat, in clock ticks. guest and
// guest_nice are left out: the kernel already counts them in user and nice.
type CPUTimes struct {
	User, Nice, System, Idle, IOWait, IRQ, SoftIRQ, Steal uint64
}

// Total is all of the CPU's time.
func (c CPUTimes) Total() uint64 {
	return c.User + c.Nice + c.System + c.Idle + c.IOWait + c.IRQ + c.SoftIRQ + c.Steal
}

// Busy is time the CPU ran something: not idle, not waiting for I/O and
// not taken by the hypervisor.
func (c CPUTimes) Busy() uint64 { return c.Total() - c.Idle - c.IOWait - c.Steal }

// Parse reads the per-CPU lines ("cpu0", "cpu1", ...) of /proc/stat's
// text; the summary "cpu" line is skipped.
func Parse(text string) (map[int]CPUTimes, error) {
	out := map[int]CPUTimes{}
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
		out[n] = CPUTimes{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("/proc/stat: no cpuN lines")
	}
	return out, nil
}

// Read reads /proc/stat.
func Read() (map[int]CPUTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, err
	}
	return Parse(string(b))
}

// UnfitSteal is the share of one CPU's time above which a host that the
// hypervisor robbed during a measurement measured itself, not the tool:
// timers (a shaper's, a pacer's) fire late and senders stall. The
// accuracy and fleet suites do not judge what such a host measured, and
// the bench discards such runs (BENCH_MAX_STEAL, in percent).
const UnfitSteal = 0.02

// MaxSteal is the largest share (0 to 1) of one CPU's time that was
// stolen between two readings, over the CPUs in both: a process stalls
// when its own CPU is stolen, whatever the others' was. CPUs whose
// counters did not advance count as 0.
func MaxSteal(before, after map[int]CPUTimes) float64 {
	var worst float64
	for c, a := range after {
		b, ok := before[c]
		if !ok || a.Total() <= b.Total() || a.Steal < b.Steal {
			continue
		}
		worst = max(worst, float64(a.Steal-b.Steal)/float64(a.Total()-b.Total()))
	}
	return worst
}

// StealMeter follows the largest share of one CPU's time stolen in any of
// its laps (a lap per measured run), so that a short stall is not diluted
// by the quiet runs around it. Without /proc/stat it sees no steal.
type StealMeter struct {
	start map[int]CPUTimes
	worst float64
}

// NewStealMeter starts the first lap.
func NewStealMeter() *StealMeter {
	m := &StealMeter{}
	m.start, _ = Read()
	return m
}

// Lap ends a lap and starts the next.
func (m *StealMeter) Lap() {
	now, _ := Read()
	m.worst = max(m.worst, MaxSteal(m.start, now))
	m.start = now
}

// Max ends the running lap and returns the largest share stolen in a lap.
func (m *StealMeter) Max() float64 {
	m.Lap()
	return m.worst
}
