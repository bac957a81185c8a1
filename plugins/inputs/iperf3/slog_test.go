package iperf3

import (
	"testing"

	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/testutil"
	"github.com/stretchr/testify/require"
)

// levelCapture is a CaptureLogger that reports a given level.
type levelCapture struct {
	testutil.CaptureLogger
	level telegraf.LogLevel
}

func (l *levelCapture) Level() telegraf.LogLevel { return l.level }

func TestSlogToTelegraf(t *testing.T) {
	log := &levelCapture{level: telegraf.Debug}
	l := NewSlog(log).With("test", 1).WithGroup("ctl")
	l.Debug("read state", "state", "TEST_START")
	l.Warn("odd", "n", 2)
	msgs := log.Messages()
	require.Len(t, msgs, 2)
	require.Equal(t, byte('D'), msgs[0].Level)
	require.Contains(t, msgs[0].Text, "read state test=1 ctl.state=TEST_START")
	require.Equal(t, byte('W'), msgs[1].Level)

	quiet := &levelCapture{level: telegraf.Info} // debug is dropped before formatting
	NewSlog(quiet).Debug("nothing")
	require.Empty(t, quiet.Messages())
}
