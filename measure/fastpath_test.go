package measure

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
	"github.com/stretchr/testify/require"
)

// Portable-path and cross-platform tests of the hot paths; the Linux fast
// paths have their own tests in fastpath_linux_test.go.

// fastModes are the data paths a test can force.
var fastModes = []struct {
	name            string
	portable, noGSO bool
}{
	{"portable", true, false},
	{"batch", false, true},
	{"gso", false, false},
}

// runBudgetPair sends exactly blocks blocks (-k) from client to server and
// returns the forward direction. A bitrate keeps UDP loss-free on a busy host.
func runBudgetPair(t *testing.T, cfg streamConfig, streams int) DirectionResult {
	t.Helper()
	sends := make([]bool, streams)
	for i := range sends {
		sends[i] = true
	}
	p := startPair(t, cfg, sends)
	select {
	case <-p.client.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("budget not reached in 20s")
	}
	// Let the receiver drain what is in flight before it stops.
	want := cfg.Blocks * int64(cfg.Length)
	require.Eventually(t, func() bool {
		var got int64
		for _, s := range p.server.streams {
			got += s.bytes.Load()
		}
		return got >= want
	}, 10*time.Second, 2*time.Millisecond)
	p.stop()
	require.NoError(t, p.client.Err())
	require.NoError(t, p.server.Err())
	dirs := p.directions()
	require.Len(t, dirs, 1)
	return dirs[0]
}

func TestFastPathsMatchPortable(t *testing.T) {
	tests := []struct {
		name string
		cfg  streamConfig
		n    int
	}{
		{"tcp", streamConfig{Protocol: TCP, Length: 128 << 10, Blocks: 400}, 1},
		{"tcp P2 zerocopy", streamConfig{Protocol: TCP, Length: 64 << 10, Blocks: 300, ZeroCopy: true}, 2},
		{"tcp small blocks", streamConfig{Protocol: TCP, Length: 1400, Blocks: 5000}, 1},
		{"udp 1400", streamConfig{Protocol: UDP, Length: 1400, Blocks: 3000, Bitrate: 200e6}, 1},
		{"udp 64 counters64", streamConfig{Protocol: UDP, Length: 64, Blocks: 3000, Bitrate: 20e6, Counters64: true}, 1},
		{"udp 8000 P2", streamConfig{Protocol: UDP, Length: 8000, Blocks: 400, Bitrate: 200e6}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ref *Summary
			for _, m := range fastModes {
				t.Run(m.name, func(t *testing.T) {
					cfg := tc.cfg
					cfg.Portable, cfg.NoGSO = m.portable, m.noGSO
					cfg.Interval = 100 * time.Millisecond
					d := runBudgetPair(t, cfg, tc.n)
					s := d.Sum
					want := cfg.Blocks * int64(cfg.Length)
					require.Equal(t, want, s.SenderBytes)
					require.Equal(t, want, s.ReceiverBytes)
					if cfg.Protocol == UDP {
						require.Equal(t, cfg.Blocks, s.Packets)
						require.Zero(t, s.LostPackets)
						require.Zero(t, s.OutOfOrder)
						require.GreaterOrEqual(t, s.JitterMs, 0.0)
						require.Less(t, s.JitterMs, 1000.0)
					}
					if ref == nil {
						ref = &s
						return
					}
					require.Equal(t, ref.SenderBytes, s.SenderBytes)
					require.Equal(t, ref.ReceiverBytes, s.ReceiverBytes)
					require.Equal(t, ref.Packets, s.Packets)
				})
			}
		})
	}
}

func TestUDPHeaderRoundTripNoAllocs(t *testing.T) {
	b := make([]byte, 64)
	for _, c64 := range []bool{false, true} {
		allocs := testing.AllocsPerRun(1000, func() {
			iperf3wire.PutUDPHeader(b, iperf3wire.UDPHeader{Sec: 1, Usec: 2, Seq: 3}, c64)
			h, err := iperf3wire.ParseUDPHeader(b, c64)
			if err != nil || h.Seq != 3 {
				t.Fatal("round trip", h, err)
			}
		})
		require.Zero(t, allocs)
	}
}

func TestUDPAccountingBatchNoAllocs(t *testing.T) {
	s := newDataStream(1, false, nil, streamConfig{Protocol: UDP, Length: 64})
	dgs := make([][]byte, 64)
	for i := range dgs {
		dgs[i] = make([]byte, 64)
	}
	seq := uint64(0)
	now := time.Now()
	allocs := testing.AllocsPerRun(1000, func() {
		for _, b := range dgs {
			seq++
			iperf3wire.PutUDPHeader(b, iperf3wire.UDPHeader{Sec: uint32(now.Unix()), Usec: uint32(now.Nanosecond() / 1000), Seq: seq}, false)
			s.accountDatagram(b, now)
		}
		s.publishRx()
	})
	require.Zero(t, allocs)
	require.Equal(t, int64(seq), s.packets.Load())
	require.Zero(t, s.lost.Load())
}

// TestBatchAccountingMatchesPerDatagram feeds the same shuffled sequence to
// the per-datagram and the batch accounting: same loss, order and jitter.
func TestBatchAccountingMatchesPerDatagram(t *testing.T) {
	cfg := streamConfig{Protocol: UDP, Length: 100}
	one := newDataStream(1, false, nil, cfg)
	batch := newDataStream(1, false, nil, cfg)
	base := time.Unix(1_700_000_000, 0)
	seqs := []uint64{1, 2, 3, 6, 7, 5, 8, 10, 9, 11, 15, 12, 16}
	dgs := make([][]byte, len(seqs))
	for i, q := range seqs {
		dgs[i] = craft(100, q, base.Add(time.Duration(i*137)*time.Microsecond), false)
	}
	for i, b := range dgs {
		one.onDatagram(b, base.Add(time.Duration(i*211)*time.Microsecond))
	}
	for i, b := range dgs {
		batch.accountDatagram(b, base.Add(time.Duration(i*211)*time.Microsecond))
		if i%4 == 3 {
			batch.publishRx()
		}
	}
	batch.publishRx()
	require.Equal(t, one.bytes.Load(), batch.bytes.Load())
	require.Equal(t, int64(16), batch.packets.Load())
	require.Equal(t, one.lost.Load(), batch.lost.Load())
	require.Equal(t, one.ooo.Load(), batch.ooo.Load())
	require.Equal(t, math.Float64frombits(one.jitter.Load()), math.Float64frombits(batch.jitter.Load()))
}

func BenchmarkUDPHeaderEncode(b *testing.B) {
	buf := make([]byte, 1400)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		iperf3wire.PutUDPHeader(buf, iperf3wire.UDPHeader{Sec: uint32(i), Usec: 7, Seq: uint64(i)}, false)
	}
}

func BenchmarkUDPHeaderDecode(b *testing.B) {
	buf := make([]byte, 1400)
	iperf3wire.PutUDPHeader(buf, iperf3wire.UDPHeader{Sec: 1, Usec: 7, Seq: 99}, true)
	b.ReportAllocs()
	var sink uint64
	for b.Loop() {
		h, _ := iperf3wire.ParseUDPHeader(buf, true)
		sink += h.Seq
	}
	_ = sink
}

// BenchmarkUDPAccounting is the receiver's per-datagram work: header
// decode, loss/out-of-order and jitter, in batches of 64 as the fast path.
func BenchmarkUDPAccounting(b *testing.B) {
	s := newDataStream(1, false, nil, streamConfig{Protocol: UDP, Length: 1400})
	buf := make([]byte, 1400)
	now := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		binary.BigEndian.PutUint32(buf[8:], uint32(i+1))
		s.accountDatagram(buf, now)
		if i%64 == 63 {
			s.publishRx()
		}
	}
}
