package serverinterop

import (
	"fmt"
	"math"
	"testing"

	"github.com/iperfmon/iperfmon/internal/servertest"
	"github.com/iperfmon/iperfmon/internal/stockiperf"
	"github.com/iperfmon/iperfmon/measure"
	"github.com/stretchr/testify/require"
)

// Stock iperf3 (Debian's 3.12) as the client against measure.Server.

type interopCase struct {
	name string
	args []string
	udp  bool
	dirs int  // directions expected
	omit bool // -O with UDP: see requireAgrees
	// check makes case-specific assertions.
	check func(t *testing.T, cj *servertest.ClientJSON, st measure.ServedTest)
}

func interopMatrix() []interopCase {
	var cases []interopCase
	for _, proto := range []struct {
		name string
		args []string
	}{
		{"tcp", nil},
		{"udp", []string{"-u", "-b", "200M", "-l", "1400"}},
	} {
		for _, dir := range []struct {
			name string
			args []string
			dirs int
		}{
			{"forward", nil, 1},
			{"reverse", []string{"-R"}, 1},
			{"bidir", []string{"--bidir"}, 2},
		} {
			for _, p := range []int{1, 4} {
				args := append(append([]string{"-t", "1", "-P", fmt.Sprint(p)}, proto.args...), dir.args...)
				cases = append(cases, interopCase{
					name: fmt.Sprintf("%s/%s/P%d", proto.name, dir.name, p),
					args: args, udp: proto.name == "udp", dirs: dir.dirs,
				})
			}
		}
	}
	return append(cases,
		interopCase{name: "tcp/bytes", args: []string{"-n", "64M"}, dirs: 1},
		interopCase{name: "tcp/blocks", args: []string{"-k", "300", "-l", "64K"}, dirs: 1},
		interopCase{name: "tcp/reverse-bytes", args: []string{"-R", "-n", "64M"}, dirs: 1},
		interopCase{name: "udp/blocks", args: []string{"-u", "-b", "100M", "-l", "1400", "-k", "5000"}, udp: true, dirs: 1},
		interopCase{name: "tcp/omit", args: []string{"-t", "1", "-O", "1"}, dirs: 1},
		interopCase{name: "udp/omit", args: []string{"-u", "-b", "100M", "-l", "1400", "-t", "1", "-O", "1"}, udp: true, dirs: 1, omit: true},
		interopCase{name: "udp/omit-reverse", args: []string{"-u", "-b", "100M", "-l", "1400", "-t", "1", "-O", "1", "-R"}, udp: true, dirs: 1, omit: true},
		interopCase{name: "udp/counters64", args: []string{"-u", "-b", "100M", "-l", "1400", "-t", "1", "--udp-counters-64bit"}, udp: true, dirs: 1},
		interopCase{name: "udp/counters64-reverse", args: []string{"-u", "-b", "100M", "-l", "1400", "-t", "1", "--udp-counters-64bit", "-R"}, udp: true, dirs: 1},
		interopCase{name: "tcp/window", args: []string{"-t", "1", "-w", "256K"}, dirs: 1},
		interopCase{name: "tcp/P128", args: []string{"-t", "1", "-P", "128"}, dirs: 1},
		interopCase{name: "tcp/bitrate", args: []string{"-t", "1", "-b", "200M", "-R"}, dirs: 1,
			check: func(t *testing.T, cj *servertest.ClientJSON, st measure.ServedTest) {
				require.InDelta(t, 200e6, st.Result.Directions[0].Sum.SenderBitsPerSecond, 20e6, "server pacing at -b 200M")
			}},
		interopCase{name: "tcp/congestion", args: []string{"-t", "1", "-C", "reno", "-R"}, dirs: 1,
			check: func(t *testing.T, cj *servertest.ClientJSON, st measure.ServedTest) {
				require.Equal(t, "reno", st.Result.CongestionUsed)
			}},
		interopCase{name: "tcp/small-blocks", args: []string{"-t", "1", "-l", "1400", "--bidir"}, dirs: 2},
	)
}

// TestServerStockInterop runs the matrix with stock 3.12 and 3.22 clients,
// and every fourth case with 3.18.
func TestServerStockInterop(t *testing.T) {
	stockiperf.Each(t, func(t *testing.T, v stockiperf.Version, bin string) {
		ts := servertest.Start(t, &measure.Server{}, "127.0.0.1:0")
		n := 0
		for i, tc := range interopMatrix() {
			if !v.Full && i%4 != 0 {
				continue
			}
			serverInteropCase(t, ts, bin, tc, &n)
		}
	})
}

func serverInteropCase(t *testing.T, ts *servertest.Server, bin string, tc interopCase, n *int) {
	t.Helper()
	{
		t.Run(tc.name, func(t *testing.T) {
			r := servertest.RunIperf3With(t, bin, ts, "", nil, append(tc.args, "-J")...)
			*n++
			st := ts.Last(t, *n)
			require.Equal(t, 0, r.ExitCode, "client failed: %s\n%s", r.Stderr, r.Stdout)
			require.Empty(t, r.JSON.Error)
			require.NoError(t, st.Err)
			require.Equal(t, measure.CodeSuccess, st.Code)
			requireAgrees(t, tc, r.JSON, st)
			if tc.check != nil {
				tc.check(t, r.JSON, st)
			}
		})
	}
}

// requireAgrees compares the stock client's JSON with the server's record.
func requireAgrees(t *testing.T, tc interopCase, cj *servertest.ClientJSON, st measure.ServedTest) {
	t.Helper()
	require.NotNil(t, st.Result)
	require.Len(t, st.Result.Directions, tc.dirs)
	// CPU use crosses in the results exchange: the client prints ours as
	// remote, and we record its own as remote.
	require.Positive(t, cj.End.CPU.RemoteTotal)
	require.InDelta(t, st.Result.CPULocal.TotalPercent, cj.End.CPU.RemoteTotal, 1e-3, "server CPU as the client prints it")
	require.InDelta(t, cj.End.CPU.HostTotal, st.Result.CPURemote.TotalPercent, 1e-3, "client CPU as the server records it")
	pairs := []struct {
		sent, recv *servertest.JSONSum
	}{{cj.End.SumSent, cj.End.SumReceived}}
	if tc.dirs == 2 {
		pairs = append(pairs, struct{ sent, recv *servertest.JSONSum }{cj.End.SumSentBidirReverse, cj.End.SumReceivedBidirReverse})
	}
	for i, p := range pairs {
		d := st.Result.Directions[i]
		dir := string(d.Direction)
		require.NotNil(t, p.sent, "sum_sent of direction %s", dir)
		require.NotNil(t, p.recv, "sum_received of direction %s", dir)
		require.Positive(t, d.Sum.ReceiverBytes, "nothing received %s", dir)
		servertest.Within(t, p.sent.Bytes, float64(d.Sum.SenderBytes), 1, dir+" sender bytes")
		servertest.Within(t, p.recv.Bytes, float64(d.Sum.ReceiverBytes), 1, dir+" receiver bytes")
		if tc.dirs == 2 {
			// With --bidir, iperf3 3.12 takes both directions' seconds
			// from one end: its rates are our bytes over the seconds of
			// one of the two ends.
			requireRateOfEitherEnd(t, p.recv.BitsPerSecond, d.Sum.ReceiverBytes, d.Sum, dir+" receiver bits/s")
			requireRateOfEitherEnd(t, p.sent.BitsPerSecond, d.Sum.SenderBytes, d.Sum, dir+" sender bits/s")
		} else {
			servertest.Within(t, p.recv.BitsPerSecond, d.Sum.ReceiverBitsPerSecond, 1, dir+" receiver bits/s")
			servertest.Within(t, p.sent.BitsPerSecond, d.Sum.SenderBitsPerSecond, 1, dir+" sender bits/s")
		}
		if tc.udp {
			servertest.Within(t, float64(p.sent.Packets), float64(d.Sum.Packets), 1, dir+" packets")
			// iperf3 3.12 does not exchange the losses of the omit
			// period (omitted_errors came later), so with -O it counts
			// them and we do not.
			if !tc.omit {
				require.InDelta(t, float64(p.recv.LostPackets), float64(d.Sum.LostPackets), max(1, 0.01*float64(d.Sum.Packets)), dir+" lost packets")
			}
			require.InDelta(t, p.recv.JitterMs, d.Sum.JitterMs, max(0.001, p.recv.JitterMs*0.01), dir+" jitter ms")
		} else if p.sent.Retransmits != nil {
			require.Equal(t, *p.sent.Retransmits, d.Sum.Retransmits, dir+" retransmits")
		}
	}
}

// requireRateOfEitherEnd asserts that rate is bytes over the sender's or the
// receiver's seconds, within 1%.
func requireRateOfEitherEnd(t *testing.T, rate float64, bytes int64, sum measure.Summary, what string) {
	t.Helper()
	for _, sec := range []float64{sum.SenderSeconds, sum.ReceiverSeconds} {
		if sec > 0 && math.Abs(rate-float64(bytes)*8/sec) <= 0.01*rate {
			return
		}
	}
	t.Fatalf("%s: client %v is not %d bytes over %v s or %v s", what, rate, bytes, sum.SenderSeconds, sum.ReceiverSeconds)
}
