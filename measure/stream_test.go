package measure

import (
	"context"
	"encoding/binary"
	"math"
	"net"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
	"github.com/stretchr/testify/require"
)

// tcpPair returns both ends of one loopback TCP connection.
func tcpPair(t testing.TB) (a, b *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	c1, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	require.NoError(t, err)
	r := <-ch
	require.NoError(t, r.err)
	t.Cleanup(func() { c1.Close(); r.c.Close() })
	return c1.(*net.TCPConn), r.c.(*net.TCPConn)
}

// udpPair returns two loopback UDP sockets connected to each other.
func udpPair(t testing.TB) (a, b *net.UDPConn) {
	t.Helper()
	la, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	lb, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	aAddr, bAddr := la.LocalAddr().(*net.UDPAddr), lb.LocalAddr().(*net.UDPAddr)
	la.Close()
	lb.Close()
	a, err = net.DialUDP("udp", aAddr, bAddr)
	require.NoError(t, err)
	b, err = net.DialUDP("udp", bAddr, aAddr)
	require.NoError(t, err)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// endsOf runs one test between two in-process ends: the "client" phase
// holds streams whose Sender flags are given, the "server" the opposite.
type pairRun struct {
	cfg            streamConfig
	client, server *dataPhase
	cres, sres     *iperf3wire.Results
}

func startPair(t *testing.T, cfg streamConfig, clientSends []bool) *pairRun {
	t.Helper()
	var cs, ss []*dataStream
	for i, send := range clientSends {
		id := i + 1
		if id >= 2 {
			id++ // iperf3 skips id 2
		}
		var a, b net.Conn
		if cfg.Protocol == UDP {
			a, b = udpPair(t)
		} else {
			a, b = tcpPair(t)
		}
		cs = append(cs, newDataStream(id, send, a, cfg))
		ss = append(ss, newDataStream(id, !send, b, cfg))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	p := &pairRun{cfg: cfg}
	// The receiving end starts first, as the server does at TEST_RUNNING.
	p.server = startDataPhase(ctx, cfg, ss)
	p.client = startDataPhase(ctx, cfg, cs)
	return p
}

// stop ends the client first (it decides), then the server, like TEST_END.
func (p *pairRun) stop() {
	p.client.Stop()
	time.Sleep(20 * time.Millisecond) // let in-flight data land, as the control round trip does
	p.server.Stop()
	p.cres, p.sres = p.client.Results(), p.server.Results()
}

func (p *pairRun) directions() []DirectionResult {
	return buildDirections(p.cfg, true, p.client, p.cres, p.sres)
}

func TestEngineTCP(t *testing.T) {
	tests := []struct {
		name   string
		sends  []bool
		wantFw bool
		wantRv bool
	}{
		{"forward", []bool{true}, true, false},
		{"reverse", []bool{false}, false, true},
		{"bidir", []bool{true, false}, true, true},
		{"forward P4", []bool{true, true, true, true}, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := streamConfig{Protocol: TCP, Length: 128 << 10, Interval: 200 * time.Millisecond}
			p := startPair(t, cfg, tc.sends)
			time.Sleep(600 * time.Millisecond)
			p.stop()
			require.NoError(t, p.client.Err())
			require.NoError(t, p.server.Err())

			dirs := p.directions()
			want := 0
			if tc.wantFw {
				want++
			}
			if tc.wantRv {
				want++
			}
			require.Len(t, dirs, want)
			if tc.wantFw {
				require.Equal(t, Forward, dirs[0].Direction)
			} else {
				require.Equal(t, Reverse, dirs[0].Direction)
			}
			for _, d := range dirs {
				s := d.Sum
				require.Positive(t, s.SenderBytes)
				require.Positive(t, s.ReceiverBytes)
				// What the receiver got lags what the sender wrote by at
				// most the socket buffers.
				require.LessOrEqual(t, s.ReceiverBytes, s.SenderBytes)
				// Sleep overshoots on a loaded host; the measured time follows.
				require.GreaterOrEqual(t, s.SenderSeconds, 0.59)
				require.Less(t, s.SenderSeconds, 1.5)
				require.InDelta(t, s.SenderSeconds, s.ReceiverSeconds, 0.2)
				require.Positive(t, s.ReceiverBitsPerSecond)
				require.NotEmpty(t, d.Intervals)
				var ivBytes int64
				for _, iv := range d.Intervals {
					require.False(t, iv.Omitted)
					ivBytes += iv.Bytes
				}
				// Intervals of the client's side add up to its total, less
				// a trailing sliver shorter than a tenth of an interval.
				if d.Direction == Forward {
					require.InEpsilon(t, s.SenderBytes, ivBytes, 0.1)
					require.True(t, s.HasTCPInfo == tcpInfoSupported)
					if tcpInfoSupported {
						require.GreaterOrEqual(t, s.Retransmits, int64(0))
						require.Positive(t, s.SndCwnd)
						require.Positive(t, s.RTTMean)
					}
				} else {
					require.InEpsilon(t, s.ReceiverBytes, ivBytes, 0.1)
				}
			}
			// Results JSON shape.
			require.Len(t, p.cres.Streams, len(tc.sends))
			for i, sr := range p.cres.Streams {
				require.Equal(t, float64(0), float64(sr.StartTime))
				require.InDelta(t, p.client.elapsed(), float64(sr.EndTime), 1e-9)
				if !tc.sends[i] {
					require.Equal(t, int64(-1), sr.Retransmits.Int())
				}
			}
			if !tc.sends[0] && len(tc.sends) == 1 {
				require.Equal(t, int64(-1), p.cres.SenderHasRetransmits.Int())
			}
			require.GreaterOrEqual(t, float64(p.cres.CPUUtilTotal), 0.0)
		})
	}
}

func TestEngineStopUnblocksIdleReceiver(t *testing.T) {
	for _, proto := range []Protocol{TCP, UDP} {
		t.Run(string(proto), func(t *testing.T) {
			cfg := streamConfig{Protocol: proto, Length: 1400, Interval: time.Second}
			var c net.Conn
			if proto == UDP {
				c, _ = udpPair(t)
			} else {
				c, _ = tcpPair(t)
			}
			dp := startDataPhase(context.Background(), cfg, []*dataStream{newDataStream(1, false, c, cfg)})
			t0 := time.Now()
			dp.Stop()
			require.Less(t, time.Since(t0), time.Second)
			require.NoError(t, dp.Err())
		})
	}
}

func TestEngineContextCancel(t *testing.T) {
	cfg := streamConfig{Protocol: TCP, Length: 1400, Interval: time.Second}
	c, _ := tcpPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	dp := startDataPhase(ctx, cfg, []*dataStream{newDataStream(1, false, c, cfg)})
	cancel()
	select {
	case <-dp.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("data phase did not end on cancel")
	}
	dp.Stop()
	require.ErrorIs(t, dp.Err(), context.Canceled)
}

func TestEnginePacing(t *testing.T) {
	tests := []struct {
		name    string
		proto   Protocol
		length  int
		bitrate int64
		streams int
	}{
		{"tcp 40M", TCP, 128 << 10, 40_000_000, 1},
		{"tcp 2x20M small blocks", TCP, 8 << 10, 20_000_000, 2},
		{"udp 20M", UDP, 1400, 20_000_000, 1},
		{"udp default 1M", UDP, 1460, DefaultUDPBitrate, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := streamConfig{Protocol: tc.proto, Length: tc.length, Bitrate: tc.bitrate, Interval: time.Second}
			sends := make([]bool, tc.streams)
			for i := range sends {
				sends[i] = true
			}
			p := startPair(t, cfg, sends)
			time.Sleep(1500 * time.Millisecond)
			p.stop()
			dirs := p.directions()
			require.Len(t, dirs, 1)
			got := dirs[0].Sum.SenderBitsPerSecond
			want := float64(tc.bitrate * int64(tc.streams))
			// Tolerance: a few % plus one block (the bucket lets one block
			// go out ahead).
			tol := 0.04*want + float64(tc.length*8*tc.streams)/1.5
			require.InDelta(t, want, got, tol, "sender rate %.0f, want %.0f", got, want)
			if tc.proto == UDP {
				s := dirs[0].Sum
				require.Equal(t, s.SenderBytes, s.SenderPackets*int64(tc.length))
				require.LessOrEqual(t, s.LostPercent, 1.0)
				require.InDelta(t, float64(s.SenderPackets), float64(s.ReceiverBytes/int64(tc.length)+s.LostPackets), 2)
			}
		})
	}
}

func TestEngineBudgets(t *testing.T) {
	tests := []struct {
		name    string
		proto   Protocol
		length  int
		bytes   int64
		blocks  int64
		streams int
		want    int64 // bytes the senders send in all
	}{
		{"tcp -n 1 stream", TCP, 128 << 10, 10 << 20, 0, 1, 10 << 20},
		{"tcp -n not a multiple, 3 streams", TCP, 100_000, 1_000_001, 0, 3, 1_100_000},
		{"tcp -k 2 streams", TCP, 16 << 10, 0, 300, 2, 300 * 16 << 10},
		{"udp -k 2 streams", UDP, 1200, 0, 2000, 2, 2000 * 1200},
		{"udp -n", UDP, 1000, 1_500_500, 0, 1, 1_501_000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := streamConfig{Protocol: tc.proto, Length: tc.length, Bytes: tc.bytes, Blocks: tc.blocks, Interval: time.Second}
			sends := make([]bool, tc.streams)
			for i := range sends {
				sends[i] = true
			}
			p := startPair(t, cfg, sends)
			for name, dp := range map[string]*dataPhase{"sender": p.client, "receiver": p.server} {
				select {
				case <-dp.Done():
				case <-time.After(10 * time.Second):
					t.Fatalf("%s: Done not closed", name)
				}
			}
			p.stop()
			dirs := p.directions()
			require.Equal(t, tc.want, dirs[0].Sum.SenderBytes)
			if tc.proto == TCP {
				require.Equal(t, tc.want, dirs[0].Sum.ReceiverBytes)
			} else {
				require.Equal(t, tc.want/int64(tc.length), dirs[0].Sum.SenderPackets)
			}
		})
	}
}

func TestEngineOmit(t *testing.T) {
	for _, proto := range []Protocol{TCP, UDP} {
		t.Run(string(proto), func(t *testing.T) {
			cfg := streamConfig{Protocol: proto, Length: 1400, Bitrate: 10_000_000, Omit: 400 * time.Millisecond, Interval: 200 * time.Millisecond}
			p := startPair(t, cfg, []bool{true})
			time.Sleep(1200 * time.Millisecond)
			p.stop()
			dirs := p.directions()
			s := dirs[0].Sum
			require.InDelta(t, 0.8, s.SenderSeconds, 0.1)
			// 10 Mbit/s over the 0.8 s measured, not the 1.2 s sent.
			require.InDelta(t, 1_000_000, float64(s.SenderBytes), 120_000)
			var omitted, measured int
			var ivBytes int64
			for _, iv := range dirs[0].Intervals {
				if iv.Omitted {
					omitted++
				} else {
					measured++
					ivBytes += iv.Bytes
				}
			}
			require.Equal(t, 2, omitted)
			require.GreaterOrEqual(t, measured, 4)
			require.InEpsilon(t, float64(s.SenderBytes), float64(ivBytes), 0.1)
			if proto == UDP {
				sr := p.cres.Streams[0]
				require.Positive(t, sr.OmittedPackets.Int())
				require.Equal(t, s.SenderPackets, sr.Packets.Int()-sr.OmittedPackets.Int())
				require.Equal(t, s.SenderBytes, s.SenderPackets*int64(cfg.Length))
			}
		})
	}
}

func TestEngineOmitDelaysBudget(t *testing.T) {
	// iperf3 resets the -n counter at the end of omit: n bytes are sent
	// after the omit period, whatever went before it.
	cfg := streamConfig{Protocol: TCP, Length: 10_000, Bytes: 50_000, Bitrate: 8_000_000, Omit: 300 * time.Millisecond, Interval: time.Second}
	p := startPair(t, cfg, []bool{true})
	select {
	case <-p.client.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed")
	}
	require.GreaterOrEqual(t, time.Since(p.client.start), 300*time.Millisecond)
	p.stop()
	require.Equal(t, int64(50_000), p.directions()[0].Sum.SenderBytes)
}

// craft builds one iperf3 UDP datagram.
func craft(length int, seq uint64, sent time.Time, counters64 bool) []byte {
	b := make([]byte, length)
	iperf3wire.PutUDPHeader(b, iperf3wire.UDPHeader{Sec: uint32(sent.Unix()), Usec: uint32(sent.Nanosecond() / 1000), Seq: seq}, counters64)
	return b
}

func TestUDPAccounting(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	type pkt struct {
		seq     uint64
		sentMs  int
		arrivMs int
	}
	tests := []struct {
		name       string
		counters64 bool
		pkts       []pkt
		wantHigh   int64
		wantLost   int64
		wantOOO    int64
	}{
		{"in order", false, []pkt{{1, 0, 5}, {2, 10, 15}, {3, 20, 25}}, 3, 0, 0},
		{"gap", false, []pkt{{1, 0, 5}, {4, 10, 15}, {5, 20, 25}}, 5, 2, 0},
		{"reorder heals loss", false, []pkt{{1, 0, 5}, {2, 10, 15}, {5, 20, 25}, {3, 30, 35}, {4, 40, 45}, {6, 50, 55}}, 6, 0, 2},
		{"duplicate is out of order", false, []pkt{{1, 0, 5}, {2, 10, 15}, {2, 10, 16}}, 2, 0, 1},
		{"64-bit counters beyond 2^32", true, []pkt{{1 << 33, 0, 5}, {1<<33 + 2, 10, 15}}, 1<<33 + 2, 1<<33 - 1 + 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := streamConfig{Protocol: UDP, Length: 100, Counters64: tc.counters64}
			s := newDataStream(1, false, nil, cfg)
			for _, p := range tc.pkts {
				ok := s.onDatagram(craft(100, p.seq, base.Add(time.Duration(p.sentMs)*time.Millisecond), tc.counters64), base.Add(time.Duration(p.arrivMs)*time.Millisecond))
				require.True(t, ok)
			}
			require.Equal(t, tc.wantHigh, s.packets.Load())
			require.Equal(t, tc.wantLost, s.lost.Load())
			require.Equal(t, tc.wantOOO, s.ooo.Load())
			require.Equal(t, int64(100*len(tc.pkts)), s.bytes.Load())
		})
	}

	t.Run("jitter RFC 3550", func(t *testing.T) {
		cfg := streamConfig{Protocol: UDP, Length: 64}
		s := newDataStream(1, false, nil, cfg)
		// Transits 5, 7, 4, 4 ms: D = 0, 2, 3, 0 ms.
		transits := []int{5, 7, 4, 4}
		var want float64
		prev := 0.005
		for i, tr := range transits {
			sent := base.Add(time.Duration(i*10) * time.Millisecond)
			s.onDatagram(craft(64, uint64(i+1), sent, false), sent.Add(time.Duration(tr)*time.Millisecond))
			cur := float64(tr) / 1000
			want += (math.Abs(cur-prev) - want) / 16
			prev = cur
		}
		require.InDelta(t, want, math.Float64frombits(s.jitter.Load()), 1e-12)
		require.InDelta(t, (0.002/16 + (0.003-0.002/16)/16 + (0-(0.002/16+(0.003-0.002/16)/16))/16), want, 1e-12)
	})

	t.Run("not data", func(t *testing.T) {
		s := newDataStream(1, false, nil, streamConfig{Protocol: UDP, Length: 64})
		hs := binary.BigEndian.AppendUint32(nil, iperf3wire.UDPConnectMsg)
		require.False(t, s.onDatagram(hs, base))
		require.False(t, s.onDatagram(make([]byte, 11), base))
		require.False(t, s.onDatagram(craft(64, 0, base, false), base))
		require.Zero(t, s.bytes.Load())
		require.Zero(t, s.packets.Load())
	})
}

func TestUDPReceiverOverSocket(t *testing.T) {
	// Crafted datagrams over a real socket, with a leftover handshake
	// datagram first; the results JSON carries what iperf3 expects.
	cfg := streamConfig{Protocol: UDP, Length: 200, Interval: time.Second}
	tx, rx := udpPair(t)
	dp := startDataPhase(context.Background(), cfg, []*dataStream{newDataStream(1, false, rx, cfg)})
	_, err := tx.Write(binary.BigEndian.AppendUint32(nil, iperf3wire.UDPConnectReply))
	require.NoError(t, err)
	for _, seq := range []uint64{1, 2, 3, 6, 7, 5, 8, 10} {
		_, err := tx.Write(craft(200, seq, time.Now(), false))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return dp.streams[0].packets.Load() == 10 }, 5*time.Second, 5*time.Millisecond)
	dp.Stop()
	r := dp.Results()
	require.Len(t, r.Streams, 1)
	sr := r.Streams[0]
	require.Equal(t, int64(1600), sr.Bytes.Int())
	require.Equal(t, int64(10), sr.Packets.Int())
	require.Equal(t, int64(2), sr.Errors.Int()) // 4 and 9 missing; 5 came late
	require.Equal(t, int64(-1), r.SenderHasRetransmits.Int())
	require.Equal(t, int64(1), dp.streams[0].ooo.Load())
}

func TestZeroAllocsPerPacket(t *testing.T) {
	cfg := streamConfig{Protocol: UDP, Length: 1400, Counters64: true}
	a, b := udpPair(t)
	snd := newDataStream(1, true, a, cfg)
	rcv := newDataStream(1, false, b, cfg)
	buf := snd.buf[:cfg.Length]
	allocs := testing.AllocsPerRun(2000, func() {
		if _, err := snd.sendDatagram(buf, time.Now()); err != nil {
			t.Fatal(err)
		}
		n, err := rcv.Conn.Read(rcv.buf)
		if err != nil {
			t.Fatal(err)
		}
		rcv.onDatagram(rcv.buf[:n], time.Now())
	})
	require.Zero(t, allocs)

	ta, tb := tcpPair(t)
	tcfg := streamConfig{Protocol: TCP, Length: 64 << 10}
	ts := newDataStream(1, true, ta, tcfg)
	tr := newDataStream(1, false, tb, tcfg)
	go func() {
		for {
			if _, err := tr.read(tr.buf); err != nil {
				return
			}
		}
	}()
	allocs = testing.AllocsPerRun(200, func() {
		if _, err := ts.Conn.Write(ts.buf); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
}

func TestPacerNoAllocs(t *testing.T) {
	p := newPacer(1e12, 1000, time.Now())
	quit := make(chan struct{})
	allocs := testing.AllocsPerRun(1000, func() {
		p.wait(quit)
		p.spend(1000)
	})
	require.Zero(t, allocs)
}

func TestSumsDoNotOverflow(t *testing.T) {
	streams := make([]StreamResult, MaxParallel)
	for i := range streams {
		streams[i] = StreamResult{ID: i + 1, Summary: Summary{
			SenderBytes: 1 << 50, ReceiverBytes: 1 << 50, SenderSeconds: 10, ReceiverSeconds: 10,
			Retransmits: 1 << 40, Packets: 1 << 45, SenderPackets: 1 << 45, LostPackets: 1 << 30,
		}, Intervals: []Interval{{Start: 0, End: 1, Bytes: 1 << 50, BitsPerSecond: 8 << 50, Retransmits: 3}}}
	}
	sum := sumStreams(streamConfig{Protocol: UDP}, streams)
	require.Equal(t, int64(128)<<50, sum.ReceiverBytes)
	require.Equal(t, int64(128)<<40, sum.Retransmits)
	require.InDelta(t, float64(int64(128)<<50)*8/10, sum.ReceiverBitsPerSecond, 1)
	require.InDelta(t, 100*float64(1<<30)/float64(1<<45), sum.LostPercent, 1e-9)
	ivs := sumIntervals(streams)
	require.Len(t, ivs, 1)
	require.Equal(t, int64(128)<<50, ivs[0].Bytes)
	require.Equal(t, int64(384), ivs[0].Retransmits)
}

func TestStreamConfigFromParams(t *testing.T) {
	p := &iperf3wire.Params{UDP: true, Omit: 2, Time: 5, Num: 0, BlockCount: 7, Len: 1400, Bandwidth: 1 << 20, UDPCounters64: 1, Window: -1}
	cfg := streamConfigFromParams(p)
	require.Equal(t, UDP, cfg.Protocol)
	require.Equal(t, 2*time.Second, cfg.Omit)
	require.Equal(t, 5*time.Second, cfg.Duration)
	require.Equal(t, int64(7), cfg.Blocks)
	require.Equal(t, 1400, cfg.Length)
	require.Equal(t, int64(1<<20), cfg.Bitrate)
	require.True(t, cfg.Counters64)
	require.Zero(t, cfg.Window)
	require.Equal(t, DefaultInterval, cfg.Interval)

	cfg = streamConfigFromParams(&iperf3wire.Params{TCP: true})
	require.Equal(t, TCP, cfg.Protocol)
	require.Equal(t, DefaultTCPLength, cfg.Length)
}
