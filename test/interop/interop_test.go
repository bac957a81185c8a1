package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/stockiperf"
	"github.com/iperfmon/iperfmon/measure"
	"github.com/stretchr/testify/require"
)

// run runs one test of ours against a fresh one-off stock server (binary
// bin).
func run(t *testing.T, bin, addr string, test measure.Test, serverArgs ...string) (*measure.Result, stockReport) {
	t.Helper()
	srv := startStock(t, bin, addr, serverArgs...)
	test.Host = addr
	test.Port = srv.Port
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	t0 := time.Now()
	res, err := (&measure.Client{}).Run(ctx, test)
	if err != nil {
		t.Fatalf("client: %v (code %v); server output:\n%s", err, measure.Classify(err), srv.Output())
	}
	t.Logf("test took %v", time.Since(t0).Round(time.Millisecond))
	return res, srv.report(t)
}

// serverKey names the server's summary of one direction in its JSON.
func serverKey(dir measure.Direction, bidir bool) string {
	switch {
	case dir == measure.Forward:
		return "sum_received" // the server received
	case bidir:
		return "sum_sent_bidir_reverse"
	default:
		return "sum_sent"
	}
}

// tail bounds the datagrams that are neither received nor counted lost:
// those sent after the receiver stopped counting at TEST_END (the sender
// goes on until it reads TEST_END; on a loaded 2-core host that can take a
// few hundred ms at 800 Mbit/s) or still queued in a socket buffer.
func tail(sent int64) int64 { return max(64, sent/4) }

// checkDirection compares one direction of our result with the server's
// own report of it:
//   - figures that travel in the results exchange must be identical;
//   - what we measured must match what the server measured of the same
//     traffic (TCP bytes within tcpTol, UDP datagrams exactly up to loss);
//   - sent versus received (TCP) differs by what sat in socket buffers at
//     TEST_END (a loaded host lets the stock server fall behind), so it is
//     bounded by the kernel's largest send plus receive buffer per stream.
func checkDirection(t *testing.T, test measure.Test, d measure.DirectionResult, rep stockReport, tcpTol float64) {
	t.Helper()
	srv := rep.sum(t, serverKey(d.Direction, test.Bidir))
	s := d.Sum
	t.Logf("%s: ours sent %d B / %d pkts, received %d B, lost %d, %.0f bit/s; server %+v",
		d.Direction, s.SenderBytes, s.SenderPackets, s.ReceiverBytes, s.LostPackets, s.ReceiverBitsPerSecond, srv)
	require.Len(t, d.Streams, test.Parallel)
	require.Positive(t, s.ReceiverBytes)
	require.Positive(t, s.ReceiverBitsPerSecond)
	var rcvBytes, sndBytes int64
	for _, st := range d.Streams {
		rcvBytes += st.ReceiverBytes
		sndBytes += st.SenderBytes
	}
	require.Equal(t, s.ReceiverBytes, rcvBytes, "sum over streams")
	require.Equal(t, s.SenderBytes, sndBytes, "sum over streams")
	serverSends := d.Direction == measure.Reverse
	length := int64(test.Length)
	// iperf3 3.16+ runs a thread per stream: the counts it exchanges are
	// a snapshot its sender threads may write a few blocks past.
	var slack int64
	if rep.threaded {
		slack = 4 * length * int64(test.Parallel)
	}
	near := func(want, got int64, what string) {
		t.Helper()
		require.InDelta(t, float64(want), float64(got), float64(slack), what)
	}

	if test.Protocol != measure.UDP {
		if serverSends {
			// The server counted what it wrote; we counted what we read.
			near(srv.Bytes, s.SenderBytes, "sender bytes")
			require.InEpsilon(t, srv.BitsPerSecond, s.SenderBitsPerSecond, 0.01)
			if !rep.threaded {
				require.Equal(t, srv.Retransmits, s.Retransmits)
			}
			require.LessOrEqual(t, s.ReceiverBytes, srv.Bytes+slack)
			if !raceEnabled {
				// 1%, plus what the server writes between our stop and its
				// reading TEST_END (~25 ms when its thread waits for a core).
				// A threaded (3.16+) server's P sender threads each see
				// TEST_END on their own: 100 ms.
				lag := 0.025
				if rep.threaded {
					lag = 0.1
				}
				allowed := tcpTol*float64(srv.Bytes) + srv.BitsPerSecond/8*lag
				require.LessOrEqual(t, float64(srv.Bytes-s.ReceiverBytes), allowed)
			}
		} else {
			require.Equal(t, srv.Bytes, s.ReceiverBytes)
			require.InEpsilon(t, srv.BitsPerSecond, s.ReceiverBitsPerSecond, 0.01)
			require.True(t, s.HasTCPInfo)
			require.GreaterOrEqual(t, s.Retransmits, int64(0))
			require.Positive(t, s.RTTMean)
		}
		// Without omit every byte received was sent; with it, the omit
		// periods end at slightly different moments at both ends.
		if test.Omit == 0 {
			require.LessOrEqual(t, s.ReceiverBytes, s.SenderBytes+slack)
		} else {
			require.LessOrEqual(t, float64(s.ReceiverBytes), float64(s.SenderBytes)*1.05)
		}
		// What was sent but not counted sat in the socket buffers.
		require.LessOrEqual(t, s.SenderBytes-s.ReceiverBytes, int64(test.Parallel)*socketBuffers(t))
		return
	}
	near(s.SenderBytes, s.SenderPackets*length, "every datagram is -l bytes")
	if serverSends {
		near(srv.Packets*length, s.SenderPackets*length, "sender packets")
		near(srv.Bytes, s.SenderBytes, "sender bytes")
		highest := s.ReceiverBytes/length + s.LostPackets
		if test.Omit == 0 {
			// With -O each end ends its omit period on its own timer,
			// and a starved iperf3 fires its timers late: no exact count.
			require.LessOrEqual(t, highest, s.SenderPackets+slack/length)
			stray := tail(s.SenderPackets)
			if rep.threaded {
				// Each of a threaded server's sender threads goes on
				// until it sees TEST_END itself.
				stray = max(64, s.SenderPackets/2)
			}
			require.LessOrEqual(t, s.SenderPackets-highest, stray)
		}
		require.Less(t, s.LostPercent, 50.0)
	} else {
		require.Equal(t, srv.Bytes, s.ReceiverBytes)
		require.Equal(t, srv.LostPackets, s.LostPackets)
		highest := srv.Bytes/length + srv.LostPackets
		require.LessOrEqual(t, highest, s.SenderPackets)
		require.LessOrEqual(t, s.SenderPackets-highest, tail(s.SenderPackets))
		require.InDelta(t, 100*float64(s.LostPackets)/float64(s.Packets), s.LostPercent, 1e-9)
	}
}

// socketBuffers is the most a TCP stream can hold in flight: the largest
// autotuned send buffer plus the largest receive buffer.
func socketBuffers(t *testing.T) int64 {
	t.Helper()
	var total int64
	for _, f := range []string{"/proc/sys/net/ipv4/tcp_wmem", "/proc/sys/net/ipv4/tcp_rmem"} {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		fs := strings.Fields(string(data))
		require.Len(t, fs, 3, f)
		n, err := strconv.ParseInt(fs[2], 10, 64)
		require.NoError(t, err)
		total += n
	}
	return total
}

func checkResult(t *testing.T, test measure.Test, res *measure.Result, rep stockReport, tcpTol float64) {
	t.Helper()
	want := []measure.Direction{measure.Forward}
	switch {
	case test.Reverse:
		want = []measure.Direction{measure.Reverse}
	case test.Bidir:
		want = []measure.Direction{measure.Forward, measure.Reverse}
	}
	require.Len(t, res.Directions, len(want))
	for i, d := range res.Directions {
		require.Equal(t, want[i], d.Direction)
		checkDirection(t, test, d, rep, tcpTol)
	}
	require.Positive(t, res.CPULocal.TotalPercent)
	require.Positive(t, res.CPURemote.TotalPercent)
	require.NotEmpty(t, res.Cookie)
}

func TestInteropMatrix(t *testing.T) {
	type proto struct {
		name string
		test measure.Test
	}
	protos := []proto{
		{"tcp", measure.Test{Protocol: measure.TCP, Duration: 2 * time.Second}},
		{"udp", measure.Test{Protocol: measure.UDP, Bitrate: 200_000_000, Length: 1400, Duration: time.Second}},
	}
	modes := []struct {
		name           string
		reverse, bidir bool
	}{{"forward", false, false}, {"reverse", true, false}, {"bidir", false, true}}
	stockiperf.Each(t, func(t *testing.T, v stockiperf.Version, bin string) {
		for _, p := range protos {
			for _, m := range modes {
				for _, par := range []int{1, 4} {
					// The short matrix: each mode once, TCP and UDP.
					if !v.Full && (par == 4) != (m.name == "bidir") {
						continue
					}
					t.Run(fmt.Sprintf("%s/%s/P%d", p.name, m.name, par), func(t *testing.T) {
						test := p.test
						test.Reverse, test.Bidir, test.Parallel = m.reverse, m.bidir, par
						res, rep := run(t, bin, "127.0.0.1", test)
						rep.threaded = v.Threaded()
						test = res.Test
						checkResult(t, test, res, rep, 0.01)
					})
				}
			}
		}
	})
}

func TestInteropOptions(t *testing.T) {
	tests := []struct {
		name  string
		addr  string
		test  measure.Test
		check func(t *testing.T, res *measure.Result)
	}{
		{
			name: "tcp -n", addr: "127.0.0.1",
			test: measure.Test{Bytes: 200 << 20},
			check: func(t *testing.T, res *measure.Result) {
				require.Equal(t, int64(200<<20), res.Directions[0].Sum.SenderBytes)
			},
		},
		{
			name: "tcp -R -n", addr: "127.0.0.1",
			test: measure.Test{Reverse: true, Bytes: 100 << 20},
			check: func(t *testing.T, res *measure.Result) {
				s := res.Directions[0].Sum
				require.GreaterOrEqual(t, s.ReceiverBytes, int64(100<<20))
				require.LessOrEqual(t, s.SenderBytes, int64(100<<20)+128<<10)
			},
		},
		{
			name: "udp -k", addr: "127.0.0.1",
			test: measure.Test{Protocol: measure.UDP, Bitrate: 200_000_000, Length: 1400, Blocks: 3000, Parallel: 2},
			check: func(t *testing.T, res *measure.Result) {
				require.Equal(t, int64(3000), res.Directions[0].Sum.SenderPackets)
			},
		},
		{
			name: "tcp -k", addr: "127.0.0.1",
			test: measure.Test{Blocks: 500, Length: 64 << 10},
			check: func(t *testing.T, res *measure.Result) {
				require.Equal(t, int64(500*64<<10), res.Directions[0].Sum.SenderBytes)
			},
		},
		{
			name: "tcp -O", addr: "127.0.0.1",
			test: measure.Test{Omit: time.Second, Duration: time.Second},
			check: func(t *testing.T, res *measure.Result) {
				s := res.Directions[0].Sum
				require.InDelta(t, 1.0, s.SenderSeconds, 0.3)
				require.InDelta(t, 1.0, s.ReceiverSeconds, 0.3)
				var omitted int
				for _, iv := range res.Directions[0].Intervals {
					if iv.Omitted {
						omitted++
					}
				}
				require.Equal(t, 1, omitted)
			},
		},
		{
			name: "udp -O -R", addr: "127.0.0.1",
			test: measure.Test{Protocol: measure.UDP, Bitrate: 100_000_000, Length: 1400, Omit: time.Second, Duration: time.Second, Reverse: true},
			check: func(t *testing.T, res *measure.Result) {
				s := res.Directions[0].Sum
				// The omitted second is not counted: clearly less than the
				// two seconds sent (the server's own pacing may lag on a
				// busy host, so no tight bound).
				require.Less(t, float64(s.SenderBytes)*8, 1.5*100e6)
				require.Greater(t, float64(s.SenderBytes)*8, 0.4*100e6)
				require.InDelta(t, 1.0, s.SenderSeconds, 0.3)
			},
		},
		{
			name: "udp 64-bit counters", addr: "127.0.0.1",
			test: measure.Test{Protocol: measure.UDP, Bitrate: 100_000_000, Length: 1400, Duration: time.Second, UDPCounters64: true},
		},
		{
			name: "udp 64-bit counters -R", addr: "127.0.0.1",
			test: measure.Test{Protocol: measure.UDP, Bitrate: 100_000_000, Length: 1400, Duration: time.Second, UDPCounters64: true, Reverse: true},
		},
		{
			name: "udp default rate", addr: "127.0.0.1",
			test: measure.Test{Protocol: measure.UDP, Duration: time.Second},
			check: func(t *testing.T, res *measure.Result) {
				s := res.Directions[0].Sum
				require.InEpsilon(t, float64(measure.DefaultUDPBitrate), s.SenderBitsPerSecond, 0.1)
			},
		},
		{
			name: "tcp ipv6", addr: "::1",
			test: measure.Test{Duration: time.Second, Family: measure.FamilyIPv6},
			check: func(t *testing.T, res *measure.Result) {
				require.Contains(t, res.RemoteAddr, "[::1]")
			},
		},
		{
			name: "udp ipv6 -R", addr: "::1",
			test: measure.Test{Protocol: measure.UDP, Bitrate: 100_000_000, Length: 1400, Duration: time.Second, Reverse: true},
		},
		{
			name: "tcp -P 128", addr: "127.0.0.1",
			test: measure.Test{Duration: time.Second, Parallel: 128},
			check: func(t *testing.T, res *measure.Result) {
				require.Len(t, res.Directions[0].Streams, 128)
				var snd int64
				for _, st := range res.Directions[0].Streams {
					snd += st.SenderBytes
				}
				require.Equal(t, snd, res.Directions[0].Sum.SenderBytes)
			},
		},
		{
			name: "get server output", addr: "127.0.0.1",
			test: measure.Test{Duration: time.Second, GetServerOutput: true},
			check: func(t *testing.T, res *measure.Result) {
				require.NotEmpty(t, res.ServerOutputJSON)
				var v map[string]any
				require.NoError(t, json.Unmarshal(res.ServerOutputJSON, &v))
				require.Contains(t, v, "end")
			},
		},
		{
			name: "tcp -l -w -N -S -C", addr: "127.0.0.1",
			test: measure.Test{Duration: time.Second, Length: 1400, Window: 1 << 20, NoDelay: true, TOS: 0x10, Congestion: "cubic"},
			check: func(t *testing.T, res *measure.Result) {
				require.Equal(t, "cubic", res.CongestionUsed)
			},
		},
	}
	stockiperf.Each(t, func(t *testing.T, v stockiperf.Version, bin string) {
		for i, tc := range tests {
			if !v.Full && i%4 != 0 {
				continue // the short matrix: every fourth case
			}
			t.Run(tc.name, func(t *testing.T) {
				res, rep := run(t, bin, tc.addr, tc.test)
				rep.threaded = v.Threaded()
				checkResult(t, res.Test, res, rep, 0.01)
				if tc.check != nil {
					tc.check(t, res)
				}
			})
		}
	})
}
