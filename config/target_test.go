package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/measure"
)

func TestTargets(t *testing.T) {
	tbl := DefaultTable()
	tbl.Servers = []string{"Iperf.Example.net", "[::1]:5202"}
	tbl.Directions = []string{"forward", "reverse", "bidir"}
	tbl.Protocol = "udp"
	tbl.Omit = Duration(time.Second)
	tbl.Bitrate = Rate(measure.BitrateUnlimited)
	tbl.Length = 1400
	tbl.TOS = 0x10
	require.NoError(t, tbl.Validate())

	targets := tbl.Targets()
	require.Len(t, targets, 6)
	var got []string
	for _, tg := range targets {
		got = append(got, tg.Server+" "+tg.Direction+" "+tg.Key())
		require.NoError(t, tg.Test.Validate())
	}
	require.Equal(t, []string{
		"Iperf.Example.net forward iperf.example.net:5201",
		"Iperf.Example.net reverse iperf.example.net:5201",
		"Iperf.Example.net bidir iperf.example.net:5201",
		"[::1]:5202 forward [::1]:5202",
		"[::1]:5202 reverse [::1]:5202",
		"[::1]:5202 bidir [::1]:5202",
	}, got)

	rev := targets[4]
	require.Equal(t, "::1", rev.Host)
	require.Equal(t, 5202, rev.Port)
	require.Equal(t, "[::1]:5202", rev.Addr())
	require.Equal(t, measure.Test{
		Host:           "::1",
		Port:           5202,
		Protocol:       measure.UDP,
		Reverse:        true,
		Duration:       10 * time.Second,
		Omit:           time.Second,
		Interval:       time.Second,
		Parallel:       1,
		Bitrate:        measure.BitrateUnlimited,
		Length:         1400,
		TOS:            0x10,
		Family:         measure.FamilyAuto,
		ConnectTimeout: 5 * time.Second,
		Timeout:        26 * time.Second,
		Latency:        true,
	}, rev.Test)
	require.True(t, targets[5].Test.Bidir)
	require.False(t, targets[5].Test.Reverse)
}

func TestSchedule(t *testing.T) {
	for _, tc := range []struct {
		spec string
		gap  time.Duration
	}{
		{"*/15 * * * *", 15 * time.Minute},
		{"*/10 * * * * *", 10 * time.Second},
		{"@every 1m30s", 90 * time.Second},
		{"@hourly", time.Hour},
		{"CRON_TZ=America/New_York 0 6,18 * * *", 12 * time.Hour},
		{"TZ=UTC 0 0 * * 1-5", 24 * time.Hour},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			s, err := ParseSchedule(tc.spec)
			require.NoError(t, err)
			require.Equal(t, tc.gap, minGap(s))
		})
	}
}
