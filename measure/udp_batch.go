package measure

import (
	"math"
	"time"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
)

// Batched UDP loops, used when the platform gives a stream batch primitives
// (udp_linux.go: sendmmsg/recvmmsg, GSO/GRO). They keep the portable loops'
// semantics: every datagram carries its own sequence number and a send
// timestamp, loss/jitter/out-of-order are accounted per datagram, the -n/-k
// budget and pacing are honoured per datagram. What changes is that one
// clock read and one set of atomic stores serve a whole batch.

// udpBatchTx sends batches of equal-sized datagrams laid out back to back.
type udpBatchTx interface {
	// buffer is the batch: room for capacity() datagrams of the test's length.
	buffer() []byte
	capacity() int
	// send transmits the first n datagrams of buffer and reports how many
	// left, always a prefix. A transient refusal (no buffer space, ICMP
	// error from an earlier datagram) is (0, nil): the caller retries.
	send(n int) (int, error)
}

// udpBatchRx receives batches of datagrams.
type udpBatchRx interface {
	// recv waits for at least one datagram and returns every datagram it
	// got, as views valid until the next call.
	recv() ([][]byte, error)
}

// sendUDPBatch is sendUDP for batch primitives.
func (d *dataPhase) sendUDPBatch(s *dataStream, tx udpBatchTx) error {
	size := d.cfg.Length
	buf := tx.buffer()
	room := tx.capacity()
	p := newPacer(d.cfg.Bitrate, size, d.start)
	p.forgiveAt(d.omitDoneCh)
	pending := 0 // datagrams taken from the budget but not sent yet
	exhausted := false
	for !d.halt.Load() {
		if p != nil && !p.wait(d.quit) {
			return nil
		}
		want := room
		if p != nil {
			// As the portable loop: send while the bucket is positive.
			want = max(1, min(room, int(math.Ceil(p.tokens/float64(size)))))
		}
		for pending < want && !exhausted {
			if !d.reserve(size) {
				exhausted = true
				break
			}
			pending++
		}
		if pending == 0 {
			d.senderExhausted()
			return nil
		}
		n := min(pending, want)
		if s.omitReq.Load() {
			s.snapshotOmit()
		}
		now := time.Now()
		h := iperf3wire.UDPHeader{Sec: uint32(now.Unix()), Usec: uint32(now.Nanosecond() / 1000)}
		next := uint64(s.packets.Load()) + 1
		for i := range n {
			h.Seq = next + uint64(i)
			iperf3wire.PutUDPHeader(buf[i*size:], h, d.cfg.Counters64)
		}
		sent, err := tx.send(n)
		if sent > 0 {
			pending -= sent
			s.packets.Store(int64(next) - 1 + int64(sent))
			s.bytes.Add(int64(sent * size))
			if p != nil {
				p.spend(sent * size)
			}
		}
		if err != nil {
			return err
		}
		d.yield()
	}
	return nil
}

// recvUDPBatch is recvUDP for batch primitives.
func (d *dataPhase) recvUDPBatch(s *dataStream, rx udpBatchRx) error {
	for {
		dgs, err := rx.recv()
		if err != nil {
			if isRefused(err) && !d.halt.Load() {
				continue
			}
			return err
		}
		if s.omitReq.Load() {
			s.snapshotOmit()
		}
		now := time.Now()
		counted := false
		for _, b := range dgs {
			if s.accountDatagram(b, now) {
				counted = true
				d.received(len(b), true)
			}
		}
		if counted {
			s.publishRx()
		}
		if d.halt.Load() {
			return nil
		}
		d.yield()
	}
}
