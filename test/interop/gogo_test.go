package interop

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/servertest"
	"github.com/iperfmon/iperfmon/measure"
	"github.com/stretchr/testify/require"
)

// goCase is one test of our client against our server.
type goCase struct {
	name  string
	host  string // 127.0.0.1 unless set
	test  measure.Test
	check func(t *testing.T, res *measure.Result, st measure.ServedTest)
}

const goUDPRate = 200_000_000 // per stream, as the stock matrix

// goMatrix is the self-interop matrix: {TCP, UDP at 200M} × {forward, -R,
// --bidir} × {-P 1, -P 4}, then -n, -k, -O, 64-bit counters, ::1, -P 128.
func goMatrix() []goCase {
	var cases []goCase
	for _, proto := range []measure.Protocol{measure.TCP, measure.UDP} {
		for _, mode := range []string{"forward", "reverse", "bidir"} {
			for _, par := range []int{1, 4} {
				test := measure.Test{Protocol: proto, Duration: time.Second, Parallel: par,
					Reverse: mode == "reverse", Bidir: mode == "bidir"}
				if proto == measure.UDP {
					test.Bitrate, test.Length = goUDPRate, 1400
				}
				cases = append(cases, goCase{name: fmt.Sprintf("%s/%s/P%d", proto, mode, par), test: test})
			}
		}
	}
	udp := func(t measure.Test) measure.Test {
		t.Protocol, t.Bitrate, t.Length = measure.UDP, 100_000_000, 1400
		return t
	}
	return append(cases,
		goCase{name: "tcp/bytes", test: measure.Test{Bytes: 64 << 20},
			check: func(t *testing.T, res *measure.Result, _ measure.ServedTest) {
				require.Equal(t, int64(64<<20), res.Directions[0].Sum.SenderBytes)
			}},
		goCase{name: "tcp/reverse-bytes", test: measure.Test{Bytes: 64 << 20, Reverse: true},
			check: func(t *testing.T, res *measure.Result, _ measure.ServedTest) {
				// The server stops once -n is sent; a last block may go over.
				s := res.Directions[0].Sum
				require.GreaterOrEqual(t, s.SenderBytes, int64(64<<20))
				require.LessOrEqual(t, s.SenderBytes, int64(64<<20)+int64(measure.DefaultTCPLength))
			}},
		goCase{name: "tcp/blocks", test: measure.Test{Blocks: 300, Length: 64 << 10},
			check: func(t *testing.T, res *measure.Result, _ measure.ServedTest) {
				require.Equal(t, int64(300*64<<10), res.Directions[0].Sum.SenderBytes)
			}},
		goCase{name: "udp/blocks", test: udp(measure.Test{Blocks: 3000, Parallel: 2}),
			check: func(t *testing.T, res *measure.Result, _ measure.ServedTest) {
				require.Equal(t, int64(3000), res.Directions[0].Sum.SenderPackets)
			}},
		goCase{name: "udp/reverse-blocks", test: udp(measure.Test{Blocks: 3000, Reverse: true}),
			check: func(t *testing.T, res *measure.Result, _ measure.ServedTest) {
				require.Equal(t, int64(3000), res.Directions[0].Sum.SenderPackets)
			}},
		goCase{name: "tcp/omit", test: measure.Test{Duration: time.Second, Omit: time.Second}, check: requireOmitted},
		goCase{name: "udp/omit-reverse", test: udp(measure.Test{Duration: time.Second, Omit: time.Second, Reverse: true}), check: requireOmitted},
		goCase{name: "udp/counters64", test: udp(measure.Test{Duration: time.Second, UDPCounters64: true})},
		goCase{name: "udp/counters64-reverse", test: udp(measure.Test{Duration: time.Second, UDPCounters64: true, Reverse: true})},
		goCase{name: "tcp/ipv6", host: "::1", test: measure.Test{Duration: time.Second, Family: measure.FamilyIPv6, Parallel: 2}, check: requireIPv6},
		goCase{name: "udp/ipv6-bidir", host: "::1", test: udp(measure.Test{Duration: time.Second, Bidir: true}), check: requireIPv6},
		goCase{name: "tcp/P128", test: measure.Test{Duration: time.Second, Parallel: 128},
			check: func(t *testing.T, res *measure.Result, st measure.ServedTest) {
				require.Len(t, st.Result.Directions[0].Streams, 128)
			}},
		goCase{name: "tcp/get-server-output", test: measure.Test{Duration: time.Second, GetServerOutput: true, Reverse: true},
			check: func(t *testing.T, res *measure.Result, _ measure.ServedTest) {
				// As from iperf3 -s without -J: the server's text report.
				require.Contains(t, res.ServerOutputText, "Accepted connection from 127.0.0.1")
				require.Regexp(t, `(?m)^\[\s*1\]\s+0\.00-1\.\d\d\s+sec.*sender$`, res.ServerOutputText)
			}},
		goCase{name: "tcp/reverse-P128", test: measure.Test{Duration: time.Second, Parallel: 128, Reverse: true}},
	)
}

func requireOmitted(t *testing.T, res *measure.Result, _ measure.ServedTest) {
	t.Helper()
	d := res.Directions[0]
	var omitted int
	for _, iv := range d.Intervals {
		if iv.Omitted {
			omitted++
		}
	}
	require.Equal(t, 1, omitted, "one omitted interval")
	require.InDelta(t, 1.0, d.Sum.SenderSeconds, 0.3, "the omitted second is not counted")
}

func requireIPv6(t *testing.T, res *measure.Result, st measure.ServedTest) {
	t.Helper()
	require.True(t, st.Client.Addr().Is6() && !st.Client.Addr().Is4In6(), "client address %s", st.Client)
	require.Contains(t, res.RemoteAddr, "[::1]")
}

// TestGoClientGoServer runs our client against our server (one dual-stack
// listener) over the whole matrix and compares both ends' records.
func TestGoClientGoServer(t *testing.T) {
	ts := servertest.Start(t, &measure.Server{Logger: servertest.Logger(t)}, ":0")
	served := 0 // records so far (subtests may be filtered with -run)
	for _, tc := range goMatrix() {
		t.Run(tc.name, func(t *testing.T) {
			test := tc.test
			test.Host, test.Port = "127.0.0.1", ts.Port
			if tc.host != "" {
				test.Host = tc.host
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := (&measure.Client{}).Run(ctx, test)
			served++
			require.NoError(t, err, "client: code %v", measure.Classify(err))
			st := ts.Last(t, served)
			require.NoError(t, st.Err)
			require.Equal(t, measure.CodeSuccess, st.Code)
			require.NotNil(t, st.Result)
			require.Equal(t, res.Cookie, st.Cookie)
			requireEndsAgree(t, res.Test, res, st)
			if tc.check != nil {
				tc.check(t, res, st)
			}
		})
	}
}

// requireEndsAgree compares what the client and the server recorded of one
// test: the byte and datagram counts each end took from the other in the
// results exchange must match exactly, and the rates within 1%.
func requireEndsAgree(t *testing.T, test measure.Test, res *measure.Result, st measure.ServedTest) {
	t.Helper()
	dirs := 1
	if test.Bidir {
		dirs = 2
	}
	require.Len(t, res.Directions, dirs)
	require.Len(t, st.Result.Directions, dirs)
	for i, d := range res.Directions {
		sd := st.Result.Directions[i]
		c, s := d.Sum, sd.Sum
		t.Logf("%s: client view sent %d B/%d pkts recv %d B lost %d; server view sent %d B/%d pkts recv %d B lost %d",
			d.Direction, c.SenderBytes, c.SenderPackets, c.ReceiverBytes, c.LostPackets, s.SenderBytes, s.SenderPackets, s.ReceiverBytes, s.LostPackets)
		require.Equal(t, d.Direction, sd.Direction)
		require.Len(t, d.Streams, test.Parallel)
		require.Len(t, sd.Streams, test.Parallel)
		require.Positive(t, c.ReceiverBytes)
		require.Equal(t, c.SenderBytes, s.SenderBytes, "sender bytes")
		require.Equal(t, c.ReceiverBytes, s.ReceiverBytes, "receiver bytes")
		servertest.Within(t, s.ReceiverBitsPerSecond, c.ReceiverBitsPerSecond, 1, "receiver bits/s")
		servertest.Within(t, s.SenderBitsPerSecond, c.SenderBitsPerSecond, 1, "sender bits/s")
		var snd, rcv int64
		for _, x := range d.Streams {
			snd += x.SenderBytes
			rcv += x.ReceiverBytes
		}
		require.Equal(t, c.SenderBytes, snd, "sum over streams")
		require.Equal(t, c.ReceiverBytes, rcv, "sum over streams")
		if test.Protocol != measure.UDP {
			if test.Omit == 0 {
				require.LessOrEqual(t, c.ReceiverBytes, c.SenderBytes)
				require.Equal(t, c.Retransmits, s.Retransmits, "retransmits")
			} else {
				// Each end ends its omit period on its own timer.
				require.LessOrEqual(t, float64(c.ReceiverBytes), 1.05*float64(c.SenderBytes))
			}
			continue
		}
		length := int64(test.Length)
		require.Equal(t, c.SenderPackets, s.SenderPackets, "datagrams sent")
		require.Equal(t, c.LostPackets, s.LostPackets, "datagrams lost")
		require.Equal(t, c.SenderBytes, c.SenderPackets*length, "every datagram is -l bytes")
		if test.Omit == 0 {
			// Exact up to loss: every datagram sent was received or counted
			// lost, but for those still in flight at TEST_END.
			highest := c.ReceiverBytes/length + c.LostPackets
			require.LessOrEqual(t, highest, c.SenderPackets)
			require.LessOrEqual(t, c.SenderPackets-highest, tail(c.SenderPackets))
		}
		if test.Blocks == 0 && test.Omit == 0 {
			// Pacing never overshoots; on a starved host it may fall short.
			want := float64(test.Bitrate) * float64(test.Parallel)
			require.Less(t, c.SenderBitsPerSecond, want*1.05)
			require.Greater(t, c.SenderBitsPerSecond, want*0.2)
		}
	}
}

// A client cancelled mid-test tells the server (CLIENT_TERMINATE): the
// server records the test as failed, frees its slot at once, and the next
// test runs normally.
func TestGoClientCancelFreesGoServer(t *testing.T) {
	ts := servertest.Start(t, &measure.Server{Logger: servertest.Logger(t)}, "127.0.0.1:0")
	for i, test := range []measure.Test{
		{Duration: 10 * time.Second},
		{Duration: 10 * time.Second, Reverse: true},
		{Duration: 10 * time.Second, Protocol: measure.UDP, Bitrate: 50_000_000, Length: 1400, Bidir: true},
	} {
		test.Host, test.Port = ts.Host, ts.Port
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(500*time.Millisecond, cancel)
		start := time.Now()
		_, err := (&measure.Client{}).Run(ctx, test)
		require.Error(t, err)
		require.Less(t, time.Since(start), 2*time.Second, "cancel must end the test at once")
		st := ts.Last(t, 2*i+1)
		t.Logf("client: %v; server recorded %s: %v", err, st.Code, st.Err)
		require.NotEqual(t, measure.CodeSuccess, st.Code)
		require.Error(t, st.Err)
		require.Less(t, time.Since(start), 2*time.Second, "the server must notice at once")
		require.Zero(t, ts.Srv.Active())

		test.Duration = time.Second
		res, err := (&measure.Client{}).Run(context.Background(), test)
		require.NoError(t, err, "the test after a cancelled one")
		require.Positive(t, res.Headline())
		require.Equal(t, measure.CodeSuccess, ts.Last(t, 2*i+2).Code)
	}
}
