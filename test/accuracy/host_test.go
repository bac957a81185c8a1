//go:build linux

package accuracy

import (
	"testing"

	"github.com/iperfmon/iperfmon/internal/procstat"
	"github.com/stretchr/testify/require"
)

// hostMeter measures how much of the host's CPU time the hypervisor took
// while an attempt ran. On a shared VM that comes in bursts lasting
// minutes: a guest whose vCPUs are descheduled wakes senders and the
// shaper's timers late, and a small bucket then drops for reasons neither
// tool controls.
//
// Laps (one per tool run) keep a short stall from being diluted by the
// attempt's quiet runs.
type hostMeter struct {
	start map[int]procstat.CPUTimes
	worst float64 // the largest share of one CPU's time stolen in a lap so far
}

func startHostMeter() *hostMeter {
	m := &hostMeter{}
	m.start, _ = procstat.Read() // none (no /proc/stat): no steal seen
	return m
}

// lap ends a lap (a tool run) and starts the next.
func (m *hostMeter) lap() {
	now, _ := procstat.Read()
	m.worst = max(m.worst, procstat.MaxSteal(m.start, now))
	m.start = now
}

// steal is the largest share of one CPU's time stolen in a lap since
// startHostMeter, the running lap included.
func (m *hostMeter) steal() float64 {
	m.lap()
	return m.worst
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
