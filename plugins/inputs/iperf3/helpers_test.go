package iperf3

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/plugins/parsers/influx"
	serializer "github.com/influxdata/telegraf/plugins/serializers/influx"
	"github.com/influxdata/telegraf/testutil"
	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/config"
	"github.com/iperfmon/iperfmon/measure"
)

var update = flag.Bool("update", false, "rewrite testdata/*.out golden files")

// t0 is the fixed start of synthetic tests.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// newPlugin returns an initialised plugin for tbl (defaults applied) with
// the given test seam and its own server lock registry (synctest bubbles
// must not share channels); pass locks to share one.
func newPlugin(t *testing.T, tbl config.Table, run runFunc, locks ...*serverLocks) *Iperf3 {
	t.Helper()
	tbl.SetDefaults()
	p := &Iperf3{Table: tbl, Log: testutil.Logger{}, run: run, locks: newServerLocks()}
	if len(locks) > 0 {
		p.locks = locks[0]
	}
	require.NoError(t, p.Init())
	return p
}

// table returns DefaultTable with servers set.
func table(servers ...string) config.Table {
	tbl := config.DefaultTable()
	tbl.Servers = servers
	return tbl
}

// fakeResult is a plausible result for test: one direction per data
// direction, with two measured intervals and one omitted.
func fakeResult(test measure.Test) *measure.Result {
	test = test.WithDefaults()
	res := &measure.Result{
		Test:                 test,
		Start:                t0,
		CPULocal:             measure.CPU{TotalPercent: 12.5, UserPercent: 2.5, SystemPercent: 10},
		CPURemote:            measure.CPU{TotalPercent: 30.25, UserPercent: 5.25, SystemPercent: 25},
		SenderHasRetransmits: true,
		Latency: &measure.Latency{
			Method: measure.ProbeICMPRaw, Target: test.Host,
			Idle:   measure.RTTStats{Sent: 5, Received: 5, Median: 500 * time.Microsecond, Min: 400 * time.Microsecond, Max: 700 * time.Microsecond, P90: 700 * time.Microsecond},
			Loaded: measure.RTTStats{Sent: 20, Received: 19, Median: 48 * time.Millisecond, Min: 2 * time.Millisecond, Max: 61 * time.Millisecond, P90: 55 * time.Millisecond},
		},
	}
	dirs := []measure.Direction{measure.Forward}
	switch {
	case test.Bidir:
		dirs = []measure.Direction{measure.Forward, measure.Reverse}
	case test.Reverse:
		dirs = []measure.Direction{measure.Reverse}
	}
	for i, dir := range dirs {
		clientSends := dir == measure.Forward
		sum := measure.Summary{
			Seconds:               2,
			SenderBytes:           2_500_000_000 + int64(i),
			SenderSeconds:         2,
			SenderBitsPerSecond:   10e9,
			ReceiverBytes:         2_499_000_000 + int64(i),
			ReceiverSeconds:       2.001,
			ReceiverBitsPerSecond: 9.99e9,
			Retransmits:           7,
		}
		if clientSends && test.Protocol == measure.TCP {
			sum.HasTCPInfo = true
			sum.RTTMean = 1500 * time.Microsecond
			sum.RTTMin = 250 * time.Microsecond
			sum.RTTMax = 4 * time.Millisecond
			sum.SndCwnd = 3_145_728
		}
		if test.Protocol == measure.UDP {
			sum.Retransmits = -1
			sum.JitterMs = 0.0125
			sum.LostPackets = 3
			sum.Packets = 1000
			sum.LostPercent = 0.3
			sum.OutOfOrder = 1
			sum.SenderPackets = 1000
		}
		d := measure.DirectionResult{Direction: dir, Sum: sum}
		for s := 0; s < test.Parallel; s++ {
			d.Streams = append(d.Streams, measure.StreamResult{ID: 1 + 2*s + i, Sender: clientSends, Summary: sum})
		}
		for k, omitted := range []bool{true, false, false} {
			d.Intervals = append(d.Intervals, measure.Interval{
				Start: float64(k), End: float64(k + 1), Bytes: 1_250_000_000,
				BitsPerSecond: 1e10 + float64(k), Retransmits: int64(k), JitterMs: 0.01 * float64(k),
				LostPackets: int64(k), Packets: 500, Omitted: omitted, Sender: clientSends,
			})
		}
		res.Directions = append(res.Directions, d)
	}
	return res
}

// requireGolden compares metrics with testdata/name.out (line protocol),
// rewriting it with -update.
func requireGolden(t *testing.T, name string, got []telegraf.Metric, opts ...cmp.Option) {
	t.Helper()
	path := filepath.Join("testdata", name+".out")
	if *update {
		s := &serializer.Serializer{SortFields: true}
		require.NoError(t, s.Init())
		b, err := s.SerializeBatch(got)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, b, 0o644))
	}
	want := readLineProtocol(t, path)
	testutil.RequireMetricsEqual(t, want, got, opts...)
}

func readLineProtocol(t *testing.T, path string) []telegraf.Metric {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	parser := &influx.Parser{}
	require.NoError(t, parser.Init())
	ms, err := parser.Parse(b)
	require.NoError(t, err)
	return ms
}

// requireGoldenShape compares the shape of live metrics (names, tags other
// than port, field names and types; not values or times) with
// testdata/name.out, rewriting it with -update.
func requireGoldenShape(t *testing.T, name string, got []telegraf.Metric) {
	t.Helper()
	path := filepath.Join("testdata", name+".out")
	if *update {
		s := &serializer.Serializer{SortFields: true}
		require.NoError(t, s.Init())
		b, err := s.SerializeBatch(got)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, b, 0o644))
	}
	want := readLineProtocol(t, path)
	testutil.RequireMetricsStructureEqual(t, want, got, testutil.IgnoreTime(), testutil.IgnoreTags("port"))
}
