//go:build linux

package measure

import (
	"strconv"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
)

// BenchmarkUDPBatch is the Linux UDP data path over loopback: one op is one
// batch of up to 32 datagrams stamped, sent (sendmmsg, or one GSO send),
// received (recvmmsg, or GRO) and accounted for loss, order and jitter.
// ns/datagram is the per-packet cost.
func BenchmarkUDPBatch(b *testing.B) {
	for _, size := range []int{64, 1400} {
		for _, m := range fastModes[1:] {
			b.Run(m.name+"/"+strconv.Itoa(size), func(b *testing.B) {
				cfg := streamConfig{Protocol: UDP, Length: size, NoGSO: m.noGSO}
				a, c := udpPair(b)
				snd, rcv := newDataStream(1, true, a, cfg), newDataStream(1, false, c, cfg)
				tx, rx := snd.fast.tx, rcv.fast.rx
				if tx == nil || rx == nil {
					b.Skip("no batch path")
				}
				if err := c.SetReadDeadline(time.Now().Add(5 * time.Minute)); err != nil {
					b.Fatal(err)
				}
				n := min(tx.capacity(), 32)
				seq := uint64(0)
				b.SetBytes(int64(n * size))
				b.ReportAllocs()
				for b.Loop() {
					now := time.Now()
					h := iperf3wire.UDPHeader{Sec: uint32(now.Unix()), Usec: uint32(now.Nanosecond() / 1000)}
					for i := range n {
						seq++
						h.Seq = seq
						iperf3wire.PutUDPHeader(tx.buffer()[i*size:], h, false)
					}
					if sent, err := tx.send(n); err != nil || sent != n {
						b.Fatal("send", sent, err)
					}
					for got := 0; got < n; {
						dgs, err := rx.recv()
						if err != nil {
							b.Fatal(err)
						}
						for _, d := range dgs {
							rcv.accountDatagram(d, now)
						}
						got += len(dgs)
					}
					rcv.publishRx()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/datagram")
				if lost := rcv.lost.Load(); lost != 0 {
					b.Fatalf("%d datagrams lost on loopback", lost)
				}
			})
		}
	}
}
