package iperf3

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/testutil"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/icmp"

	"github.com/iperfmon/iperfmon/config"
	"github.com/iperfmon/iperfmon/internal/leakcheck"
	"github.com/iperfmon/iperfmon/internal/stockiperf"
	"github.com/iperfmon/iperfmon/internal/testenv"
	"github.com/iperfmon/iperfmon/measure"
)

// liveTable is a short test against a loopback server.
func liveTable(addr, protocol, direction string) config.Table {
	tbl := table(addr)
	tbl.Protocol = protocol
	tbl.Directions = []string{direction}
	tbl.Duration = config.Duration(time.Second)
	tbl.BusyBackoff = config.Duration(200 * time.Millisecond)
	tbl.Latency = false // the probe needs ICMP rights: TestLiveLatency covers it
	if protocol == "udp" {
		tbl.Bitrate = 10_000_000
		tbl.Length = 1400
	}
	return tbl
}

// runLive runs tbl once with the real client and returns its points.
func runLive(t *testing.T, tbl config.Table) []telegraf.Metric {
	t.Helper()
	p := newPlugin(t, tbl, nil)
	acc := &testutil.Accumulator{}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	require.NoError(t, p.RunOnce(ctx, acc))
	require.NoError(t, acc.FirstError())
	return acc.GetTelegrafMetrics()
}

// requireSane checks the values of a successful point.
func requireSane(t *testing.T, m telegraf.Metric, protocol string) {
	t.Helper()
	require.Equal(t, "success", m.Tags()["result"], "error: %v", m.Fields()["error"])
	f := m.Fields()
	require.Greater(t, f["bits_per_second"].(float64), 0.0)
	require.Greater(t, f["sender_bits_per_second"].(float64), 0.0)
	require.Positive(t, f["bytes_sent"].(int64))
	require.Positive(t, f["bytes_received"].(int64))
	require.LessOrEqual(t, f["bytes_received"].(int64), f["bytes_sent"].(int64)+1<<20)
	require.InDelta(t, 1.0, f["duration_seconds"].(float64), 0.5)
	require.Positive(t, f["streams"].(int64))
	for _, k := range []string{"cpu_local_total_percent", "cpu_remote_total_percent"} {
		require.GreaterOrEqual(t, f[k].(float64), 0.0, k)
	}
	if protocol == "udp" {
		// 10 Mbit/s for 1 s in 1400-byte datagrams is about 890 packets.
		require.InDelta(t, 893, float64(f["packets"].(int64)), 300)
		require.GreaterOrEqual(t, f["lost_percent"].(float64), 0.0)
		require.LessOrEqual(t, f["lost_percent"].(float64), 100.0)
		require.GreaterOrEqual(t, f["jitter_ms"].(float64), 0.0)
		require.InDelta(t, 10e6, f["bits_per_second"].(float64), 3e6)
	} else if rtt, ok := f["rtt_ms"]; ok {
		require.Greater(t, rtt.(float64), 0.0)
		require.LessOrEqual(t, f["rtt_min_ms"].(float64), rtt.(float64))
		require.GreaterOrEqual(t, f["rtt_max_ms"].(float64), rtt.(float64))
		require.Positive(t, f["snd_cwnd_bytes"].(int64))
		// TCP_INFO over loopback: loopback's 65535-byte MTU; a window
		// (zero when the receiver fell behind), a variation and a reorder
		// count that are not negative.
		require.GreaterOrEqual(t, f["snd_wnd_bytes"].(int64), int64(0)) // 0: a receiver that fell behind
		require.Equal(t, int64(65535), f["pmtu_bytes"].(int64))
		require.GreaterOrEqual(t, f["rtt_var_ms"].(float64), 0.0)
		require.GreaterOrEqual(t, f["reorder"].(int64), int64(0))
	}
}

// Every field, with sane values, for TCP/UDP × forward/reverse/bidir
// against Debian's stock iperf3 -s; the shape (names, tags, field types) is
// pinned in testdata/live_*.out.
func TestLiveStockIperf3(t *testing.T) {
	port := stockiperf.StartServer(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for _, protocol := range []string{"tcp", "udp"} {
		for _, direction := range []string{"forward", "reverse", "bidir"} {
			name := protocol + "_" + direction
			t.Run(name, func(t *testing.T) {
				ms := runLive(t, liveTable(addr, protocol, direction))
				want := 1
				if direction == "bidir" {
					want = 2
				}
				require.Len(t, ms, want)
				for _, m := range ms {
					requireSane(t, m, protocol)
					require.Equal(t, "127.0.0.1", m.Tags()["server"])
					require.Equal(t, fmt.Sprint(port), m.Tags()["port"])
				}
				requireGoldenShape(t, "live_"+name, ms)
			})
		}
	}
}

// interval_metrics adds per-second points of the same series.
func TestLiveIntervals(t *testing.T) {
	port := stockiperf.StartServer(t)
	tbl := liveTable(fmt.Sprintf("127.0.0.1:%d", port), "tcp", "forward")
	tbl.Duration = config.Duration(2 * time.Second)
	tbl.IntervalMetrics = true
	ms := runLive(t, tbl)
	var intervals []telegraf.Metric
	for _, m := range ms {
		if m.Name() == IntervalMeasurement {
			intervals = append(intervals, m)
		}
	}
	// Two whole seconds; a loaded host may end the test a little late and
	// add a short last interval, as iperf3 does.
	require.Contains(t, []int{2, 3}, len(intervals), "intervals: %v", intervals)
	if len(intervals) == 3 {
		require.GreaterOrEqual(t, intervals[2].Time().Sub(intervals[0].Time()), 1900*time.Millisecond)
	}
	// Intervals count from the start of the data phase, a moment after
	// the test's own timestamp (connect and parameter exchange).
	require.False(t, intervals[0].Time().Before(ms[0].Time()))
	require.Less(t, intervals[0].Time().Sub(ms[0].Time()), 500*time.Millisecond)
	// The interval timer may fire late on a loaded host, as iperf3's does.
	require.InDelta(t, time.Second, intervals[1].Time().Sub(intervals[0].Time()), float64(400*time.Millisecond))
	// The whole seconds carry data; a late short tail may be empty (iperf3
	// keeps a last interval of at least a tenth of the interval).
	for i, m := range intervals {
		if i < 2 {
			require.Greater(t, m.Fields()["bits_per_second"].(float64), 0.0, "interval %d", i)
		} else {
			require.GreaterOrEqual(t, m.Fields()["bits_per_second"].(float64), 0.0, "interval %d", i)
		}
	}
}

// A closed port is connection_failed (after the brief refused-connection
// retries), one point per direction.
func TestLiveConnectionFailed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	tbl := liveTable(addr, "tcp", "forward")
	tbl.Directions = []string{"forward", "bidir"}
	ms := runLive(t, tbl)
	require.Len(t, ms, 3)
	for _, m := range ms {
		require.Equal(t, "connection_failed", m.Tags()["result"])
		require.Equal(t, int64(1), m.Fields()["result_code"])
		require.Contains(t, m.Fields()["error"], "refused")
	}
}

// A server that accepts and then says nothing times out within the
// test's deadline.
func TestLiveSilentServerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() }) // hold it open, silent
		}
	}()
	tbl := liveTable(ln.Addr().String(), "tcp", "reverse")
	tbl.Timeout = config.Duration(2 * time.Second)
	tbl.ConnectTimeout = config.Duration(time.Second)
	begin := time.Now()
	ms := runLive(t, tbl)
	took := time.Since(begin)
	require.Less(t, took, 3*time.Second, "the deadline was not kept")
	require.GreaterOrEqual(t, took, 2*time.Second-100*time.Millisecond)
	require.Len(t, ms, 1)
	require.Equal(t, "timeout", ms[0].Tags()["result"], "error: %v", ms[0].Fields()["error"])
	require.Equal(t, int64(2), ms[0].Fields()["result_code"])
}

// A busy server (one 0xff byte, then close) is retried busy_retries times,
// then reported as server_busy, one point per direction.
func TestLiveBusyServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			_, _ = c.Write([]byte{0xff})
			_ = c.Close()
		}
	}()
	tbl := liveTable(ln.Addr().String(), "tcp", "bidir")
	tbl.BusyRetries = 2
	tbl.BusyBackoff = config.Duration(100 * time.Millisecond)
	ms := runLive(t, tbl)
	require.Len(t, ms, 2)
	for _, m := range ms {
		require.Equal(t, "server_busy", m.Tags()["result"], "error: %v", m.Fields()["error"])
		require.Equal(t, int64(3), m.Fields()["result_code"])
	}
	require.Equal(t, int32(3), accepted.Load(), "one attempt and two retries")
}

// @every 1s with 2 s tests against stock iperf3: every test succeeds, and
// tests start 2 s or more apart. (Stock iperf3 may still answer "busy" for
// a moment after a test ends while it cleans up; the busy retry covers it.)
func TestLiveScheduleNoOverlap(t *testing.T) {
	port := stockiperf.StartServer(t)
	tbl := liveTable(fmt.Sprintf("127.0.0.1:%d", port), "tcp", "forward")
	tbl.Schedule = "@every 1s"
	tbl.Duration = config.Duration(2 * time.Second)
	p := newPlugin(t, tbl, nil)
	acc := &testutil.Accumulator{}
	require.NoError(t, p.Start(acc))
	acc.Wait(2)
	p.Stop()
	ms := acc.GetTelegrafMetrics()
	for i, m := range ms {
		require.Equal(t, "success", m.Tags()["result"], "error: %v", m.Fields()["error"])
		if i > 0 {
			require.GreaterOrEqual(t, m.Time().Sub(ms[i-1].Time()), 2*time.Second)
		}
	}
	require.Positive(t, p.Skipped())
}

// Stop during a real test returns promptly and leaves no goroutines or
// descriptors behind.
func TestLiveStopDuringTest(t *testing.T) {
	port := stockiperf.StartServer(t)
	tbl := liveTable(fmt.Sprintf("127.0.0.1:%d", port), "udp", "reverse")
	tbl.Duration = config.Duration(30 * time.Second)
	tbl.Schedule = "@every 1s"
	before := leakcheck.Take()
	started := make(chan struct{})
	client := &measure.Client{}
	var once atomic.Bool
	p := newPlugin(t, tbl, func(ctx context.Context, test measure.Test) (*measure.Result, error) {
		if once.CompareAndSwap(false, true) {
			time.AfterFunc(500*time.Millisecond, func() { close(started) }) // well into the test
		}
		return client.Run(ctx, test)
	})
	acc := &testutil.Accumulator{}
	require.NoError(t, p.Start(acc))
	<-started
	begin := time.Now()
	p.Stop()
	require.Less(t, time.Since(begin), time.Second)
	require.Empty(t, acc.GetTelegrafMetrics())
	// Goroutines of closed connections may take a moment to exit.
	leakcheck.Settle(t, before, 0, 64<<20, 5*time.Second)
}

// startServer runs an in-process measure.Server on a free loopback port
// until the test ends.
func startServer(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := measure.Listen(ctx, "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- (&measure.Server{}).Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		require.ErrorIs(t, <-done, measure.ErrServerClosed)
	})
	return ln.Addr().String()
}

// The same matrix against iperfmon's own server: the same shape as with
// stock iperf3 (testdata/live_*.out) and sane values.
func TestLiveMeasureServer(t *testing.T) {
	addr := startServer(t)
	for _, protocol := range []string{"tcp", "udp"} {
		for _, direction := range []string{"forward", "reverse", "bidir"} {
			name := protocol + "_" + direction
			t.Run(name, func(t *testing.T) {
				ms := runLive(t, liveTable(addr, protocol, direction))
				for _, m := range ms {
					requireSane(t, m, protocol)
				}
				testutil.RequireMetricsStructureEqual(t, readLineProtocol(t, "testdata/live_"+name+".out"), ms,
					testutil.IgnoreTime(), testutil.IgnoreTags("port"))
			})
		}
	}
}

// latency = true against stock iperf3 -s (which answers nothing new): the
// probe's fields come from ICMP echo, on every point of the test.
func TestLiveLatency(t *testing.T) {
	if c, err := icmp.ListenPacket("ip4:icmp", "127.0.0.1"); err == nil {
		c.Close()
	} else if c, err := icmp.ListenPacket("udp4", "127.0.0.1"); err == nil {
		c.Close()
	} else {
		testenv.Unavailable(t, "no ICMP socket for the latency probe (root, CAP_NET_RAW or net.ipv4.ping_group_range): %v", err)
	}
	port := stockiperf.StartServer(t)
	for _, tc := range []struct{ protocol, direction string }{{"tcp", "forward"}, {"tcp", "bidir"}, {"udp", "reverse"}} {
		t.Run(tc.protocol+"_"+tc.direction, func(t *testing.T) {
			tbl := liveTable(fmt.Sprintf("127.0.0.1:%d", port), tc.protocol, tc.direction)
			tbl.Latency = true
			for _, m := range runLive(t, tbl) {
				requireSane(t, m, tc.protocol)
				f := m.Fields()
				for _, k := range []string{"idle_rtt_ms", "loaded_rtt_ms", "loaded_rtt_min_ms", "loaded_rtt_p90_ms", "loaded_rtt_max_ms"} {
					require.IsType(t, 0.0, f[k], k)
					require.Greater(t, f[k].(float64), 0.0, k)
					require.Less(t, f[k].(float64), 1000.0, k) // a reply later than ProbeTimeout counts as lost
				}
				require.LessOrEqual(t, f["loaded_rtt_min_ms"], f["loaded_rtt_ms"])
				require.LessOrEqual(t, f["loaded_rtt_ms"], f["loaded_rtt_p90_ms"])
				require.LessOrEqual(t, f["loaded_rtt_p90_ms"], f["loaded_rtt_max_ms"])
				require.InDelta(t, f["loaded_rtt_ms"].(float64)-f["idle_rtt_ms"].(float64), f["rtt_increase_ms"], 1e-9)
			}
		})
	}
}
