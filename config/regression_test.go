package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Regressions found by FuzzParseSchedule: robfig/cron v3.0.1 slices out of
// range on a time-zone prefix with no space after it, which crashed start-up
// (and Telegraf) for `schedule = "CRON_TZ="`.
func TestParseScheduleTimeZoneWithoutSpec(t *testing.T) {
	for _, spec := range []string{"CRON_TZ=", "TZ=", "TZ=Europe/Berlin", "CRON_TZ=UTC"} {
		t.Run(spec, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { _, err = ParseSchedule(spec) })
			require.ErrorContains(t, err, "without a schedule")

			_, err = Parse([]byte("[[inputs.iperf3]]\n  servers = [\"127.0.0.1\"]\n  schedule = \"" + spec + "\"\n"))
			require.ErrorContains(t, err, "schedule = ")
			require.ErrorContains(t, err, "allowed a cron spec")
		})
	}
	_, err := ParseSchedule("CRON_TZ=UTC 0 * * * *")
	require.NoError(t, err)
}
