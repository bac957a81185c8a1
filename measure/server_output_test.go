package measure

import (
	"flag"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
	"github.com/stretchr/testify/require"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/*.golden")

// addrConn is a data connection that only has addresses.
type addrConn struct {
	net.Conn
	local, remote net.Addr
}

func (c addrConn) LocalAddr() net.Addr  { return c.local }
func (c addrConn) RemoteAddr() net.Addr { return c.remote }

// outputFixture is a finished test as the server saw it: n streams per
// direction, two intervals each, made-up but plausible figures.
func outputFixture(udp, reverse, bidir bool, n int) (*serverTest, *iperf3wire.Params, *Result) {
	t := &serverTest{client: netip.MustParseAddrPort("192.0.2.7:40000")}
	p := &iperf3wire.Params{UDP: udp, TCP: !udp, Reverse: reverse, Bidirectional: bidir, Time: 2, Parallel: iperf3wire.Number(n)}
	res := &Result{SenderHasRetransmits: !udp}
	dirs := []Direction{Forward}
	switch {
	case bidir:
		dirs = []Direction{Forward, Reverse}
	case reverse:
		dirs = []Direction{Reverse}
	}
	id := 0
	for _, d := range dirs {
		dr := DirectionResult{Direction: d}
		sender := serverSends(d)
		for range n {
			sid := streamID(id)
			t.ordered = append(t.ordered, addrConn{
				local:  &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 5201},
				remote: &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 40001 + id},
			})
			id++
			sr := StreamResult{ID: sid, Sender: sender}
			for i := range 2 {
				sr.Intervals = append(sr.Intervals, Interval{Start: float64(i), End: float64(i + 1),
					Bytes: 117_440_512 + int64(sid)*1000, BitsPerSecond: 939.5e6 + float64(sid), Retransmits: int64(i),
					JitterMs: 0.0123, LostPackets: int64(i), Packets: 863, Omitted: i == 0 && sid == 1, Sender: sender})
			}
			sr.Summary = Summary{SenderBytes: 234_881_024, SenderSeconds: 2, SenderBitsPerSecond: 939.5e6,
				ReceiverBytes: 234_800_000, ReceiverSeconds: 2.01, ReceiverBitsPerSecond: 934.5e6, Retransmits: 3,
				JitterMs: 0.021, LostPackets: 1, Packets: 1726, SenderPackets: 1726}
			dr.Streams = append(dr.Streams, sr)
		}
		for i := range 2 {
			dr.Intervals = append(dr.Intervals, Interval{Start: float64(i), End: float64(i + 1),
				Bytes: int64(n) * 117_440_512, BitsPerSecond: float64(n) * 939.5e6, Retransmits: 2, Packets: int64(n) * 863, Sender: sender})
		}
		dr.Sum = Summary{SenderBytes: int64(n) * 234_881_024, SenderSeconds: 2, SenderBitsPerSecond: float64(n) * 939.5e6,
			ReceiverBytes: int64(n) * 234_800_000, ReceiverSeconds: 2.01, ReceiverBitsPerSecond: float64(n) * 934.5e6,
			Retransmits: -1, Packets: int64(n) * 1726, SenderPackets: int64(n) * 1726}
		res.Directions = append(res.Directions, dr)
	}
	return t, p, res
}

// TestServerOutputTextGolden pins the text a server sends for
// --get-server-output, in the shape iperf3's server prints.
func TestServerOutputTextGolden(t *testing.T) {
	for _, c := range []struct {
		name                string
		udp, reverse, bidir bool
		n                   int
	}{
		{"tcp", false, false, false, 1},
		{"tcp-reverse-p2", false, true, false, 2},
		{"tcp-bidir", false, false, true, 1},
		{"udp", true, false, false, 1},
		{"udp-reverse-p2", true, true, false, 2},
		{"udp-bidir", true, false, true, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := serverOutputText(outputFixture(c.udp, c.reverse, c.bidir, c.n))
			path := filepath.Join("testdata", "server-output-"+c.name+".golden")
			if *updateGolden {
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./measure -run TestServerOutputTextGolden -update to create %s", path)
			require.Equal(t, string(want), got)
		})
	}
}
