//go:build linux

package accuracy

import (
	"testing"

	"github.com/stretchr/testify/require"
)

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
