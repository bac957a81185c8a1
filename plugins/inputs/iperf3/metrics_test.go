package iperf3

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/config"
	"github.com/iperfmon/iperfmon/measure"
)

// targetFor builds the target of one table entry as Targets does.
func targetFor(t *testing.T, protocol, direction string, parallel int) config.Target {
	t.Helper()
	tbl := table("iperf.example.net:5202")
	tbl.Protocol = protocol
	tbl.Directions = []string{direction}
	tbl.Parallel = parallel
	tbl.Duration = config.Duration(2e9)
	require.NoError(t, tbl.Validate())
	targets := tbl.Targets()
	require.Len(t, targets, 1)
	return targets[0]
}

// The metric shape of every kind of test, pinned in testdata/*.out.
func TestMetricsGolden(t *testing.T) {
	for _, tc := range []struct {
		name      string
		protocol  string
		direction string
		parallel  int
		err       error
		intervals bool
	}{
		{name: "tcp_forward", protocol: "tcp", direction: "forward", parallel: 1},
		{name: "tcp_reverse", protocol: "tcp", direction: "reverse", parallel: 2},
		{name: "tcp_bidir", protocol: "tcp", direction: "bidir", parallel: 2},
		{name: "udp_forward", protocol: "udp", direction: "forward", parallel: 1},
		{name: "udp_reverse", protocol: "udp", direction: "reverse", parallel: 1},
		{name: "udp_bidir", protocol: "udp", direction: "bidir", parallel: 2},
		{name: "tcp_forward_intervals", protocol: "tcp", direction: "forward", parallel: 1, intervals: true},
		{name: "udp_reverse_intervals", protocol: "udp", direction: "reverse", parallel: 1, intervals: true},
		{name: "fail_connection", protocol: "tcp", direction: "forward", parallel: 1,
			err: &measure.Error{Code: measure.CodeConnectionFailed, Op: "control: connect", Err: errors.New("dial tcp 192.0.2.7:5202: connect: connection refused")}},
		{name: "fail_busy_bidir", protocol: "tcp", direction: "bidir", parallel: 1, intervals: true,
			err: fmt.Errorf("control: read state: %w", measure.ErrServerBusy)},
		{name: "fail_timeout_udp", protocol: "udp", direction: "reverse", parallel: 1,
			err: fmt.Errorf("test: %w", context.DeadlineExceeded)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := targetFor(t, tc.protocol, tc.direction, tc.parallel)
			var res *measure.Result
			if tc.err == nil {
				res = fakeResult(target.Test)
			}
			got := Metrics(target.Name(), target.Test, res, tc.err, t0, tc.intervals)
			requireGolden(t, tc.name, got)
		})
	}
}

// A result that lacks a direction the test asked for still yields one
// point for it, as a protocol error.
func TestMetricsMissingDirection(t *testing.T) {
	target := targetFor(t, "tcp", "bidir", 1)
	res := fakeResult(target.Test)
	res.Directions = res.Directions[:1]
	got := Metrics(target.Name(), target.Test, res, nil, t0, false)
	require.Len(t, got, 2)
	require.Equal(t, "success", got[0].Tags()["result"])
	require.Equal(t, "protocol_error", got[1].Tags()["result"])
	require.Equal(t, "reverse", got[1].Tags()["direction"])
	msg, _ := got[1].GetField("error")
	require.Equal(t, "protocol error: the results have no reverse direction", msg)

	got = Metrics(target.Name(), target.Test, nil, nil, t0, false)
	require.Len(t, got, 2)
	require.Equal(t, "protocol_error", got[0].Tags()["result"])
}

// Every result code maps to its documented result tag.
func TestMetricsResultCodes(t *testing.T) {
	target := targetFor(t, "tcp", "forward", 1)
	for code := measure.CodeSuccess + 1; code <= measure.CodeProtocolError; code++ {
		got := Metrics(target.Name(), target.Test, nil, &measure.Error{Code: code, Err: net.ErrClosed}, t0, false)
		require.Len(t, got, 1)
		require.Equal(t, code.String(), got[0].Tags()["result"])
		v, _ := got[0].GetField("result_code")
		require.Equal(t, int64(code), v)
	}
}
