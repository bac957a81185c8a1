//go:build linux

package accuracy

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// cpuTimes is the all-CPUs line of /proc/stat: the time the hypervisor
// gave to other guests while this one wanted to run (steal), and all of it.
type cpuTimes struct {
	steal, total int64 // clock ticks
}

// parseCPUTimes reads the "cpu" line of /proc/stat text: user nice system
// idle iowait irq softirq steal [guest guest_nice], where guest time is
// already inside user and nice.
func parseCPUTimes(text string) (cpuTimes, error) {
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "cpu" {
			continue
		}
		if len(f) < 9 {
			return cpuTimes{}, fmt.Errorf("/proc/stat: cpu line has %d fields, want at least 8 times (user … steal)", len(f)-1)
		}
		var ct cpuTimes
		for i, s := range f[1:9] {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return cpuTimes{}, fmt.Errorf("/proc/stat: cpu field %d: %w", i+1, err)
			}
			ct.total += v
			if i == 7 {
				ct.steal = v
			}
		}
		return ct, nil
	}
	return cpuTimes{}, fmt.Errorf("/proc/stat: no cpu line")
}

// stealShare is the share of the CPUs' time stolen between two readings;
// 0 when nothing was counted.
func stealShare(before, after cpuTimes) float64 {
	total := after.total - before.total
	if total <= 0 {
		return 0
	}
	return float64(after.steal-before.steal) / float64(total)
}

// hostMeter measures how much of the host's CPU time the hypervisor took
// while an attempt ran. On a shared VM that comes in bursts lasting
// minutes: a guest whose vCPUs are descheduled wakes senders and the
// shaper's timers late, and a small bucket then drops for reasons neither
// tool controls.
// Laps (one per tool run) keep a short stall from being diluted by the
// attempt's quiet runs.
type hostMeter struct {
	start cpuTimes
	worst float64 // the largest share of a lap so far
}

func startHostMeter() *hostMeter { return &hostMeter{start: readCPUTimes()} }

// lap ends a lap (a tool run) and starts the next.
func (m *hostMeter) lap() {
	now := readCPUTimes()
	m.worst = max(m.worst, stealShare(m.start, now))
	m.start = now
}

// steal is the largest share stolen in a lap since startHostMeter, the
// running lap included (0 without /proc/stat).
func (m *hostMeter) steal() float64 {
	m.lap()
	return m.worst
}

func readCPUTimes() cpuTimes {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	ct, err := parseCPUTimes(string(b))
	if err != nil {
		return cpuTimes{}
	}
	return ct
}

func TestParseCPUTimes(t *testing.T) {
	for _, tc := range []struct {
		name, text   string
		steal, total int64
		err          string
	}{
		{"kernel 6.18", "cpu  917161 1789 914757 2306218 7871 0 347298 142184 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n", 142184, 4637278, ""},
		{"no guest fields", "cpu  10 0 10 70 0 0 0 10\n", 10, 100, ""},
		{"short line", "cpu  10 0 10 70 0 0 0\n", 0, 0, "at least 8 times"},
		{"not a number", "cpu  10 0 10 70 0 0 0 x\n", 0, 0, "cpu field 8"},
		{"no cpu line", "intr 1 2 3\n", 0, 0, "no cpu line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct, err := parseCPUTimes(tc.text)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, cpuTimes{steal: tc.steal, total: tc.total}, ct)
		})
	}
}

func TestStealShare(t *testing.T) {
	// Readings 175 s apart on the 2-core VM while a tbf at 500 Mbit/s
	// dropped 30-60 % for both tools: a quarter of the time was stolen.
	before, err := parseCPUTimes("cpu  917162 1789 914757 2307215 7871 0 347298 142186 0 0\n")
	require.NoError(t, err)
	after, err := parseCPUTimes("cpu  918112 1789 920667 2325206 7923 0 349484 150202 0 0\n")
	require.NoError(t, err)
	require.InDelta(t, 0.225, stealShare(before, after), 0.005)
	require.Greater(t, stealShare(before, after), maxSteal)
	require.Zero(t, stealShare(after, after), "no time passed")
	require.Zero(t, stealShare(cpuTimes{}, cpuTimes{}), "no /proc/stat")
}

// TestRunCaseUnfit checks that a failed attempt on an unfit host is run
// again without counting, and that a case unfit throughout is skipped,
// not failed, once the suite's budget for waiting is spent.
func TestRunCaseUnfit(t *testing.T) {
	pause, budget := unfitPause, unfitReruns.Load()
	unfitPause = 0
	t.Cleanup(func() { unfitPause = pause; unfitReruns.Store(budget) })

	calls := 0
	ok := t.Run("unfit then passes", func(t *testing.T) {
		runCase(t, &row{}, func(c *checker) {
			calls++
			if calls < 3 {
				c.errorf("loss too high")
				c.unfitf("steal")
			}
		})
	})
	require.True(t, ok)
	require.Equal(t, 3, calls, "two unfit attempts, then the one that passed")

	unfitReruns.Store(1)
	calls = 0
	var skipped bool
	t.Run("unfit throughout", func(t *testing.T) {
		t.Cleanup(func() { skipped = t.Skipped() })
		runCase(t, &row{}, func(c *checker) {
			calls++
			c.errorf("loss too high")
			c.unfitf("steal")
		})
	})
	require.True(t, skipped, "a case the host never let be judged is skipped")
	require.Equal(t, 2, calls, "one rerun from the budget, then the skip")
}
