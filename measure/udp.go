package measure

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
)

// Portable UDP loops: one datagram per syscall, no allocation per datagram.
// Platform fast paths (mmsg batches, GSO/GRO) may replace them later.

// udpBatch is how many datagrams a paced sender releases per bucket check.
const udpBatch = 64

// sendUDP sends datagrams of exactly Length bytes carrying iperf3's header
// (send time, sequence from 1), paced per stream.
func (d *dataPhase) sendUDP(s *dataStream) error {
	if s.fast.tx != nil {
		return d.sendUDPBatch(s, s.fast.tx)
	}
	buf := s.buf[:d.cfg.Length]
	p := newPacer(d.cfg.Bitrate, len(buf), d.start)
	p.forgiveAt(d.omitDoneCh)
	for !d.halt.Load() {
		if p != nil && !p.wait(d.quit) {
			return nil
		}
		for i := 0; i < udpBatch && !d.halt.Load(); i++ {
			if !d.reserve(len(buf)) {
				d.senderExhausted()
				return nil
			}
			if s.omitReq.Load() {
				s.snapshotOmit()
			}
			sent, err := s.sendDatagram(buf, time.Now())
			if err != nil {
				return err
			}
			if p != nil && sent {
				p.spend(len(buf))
				if p.tokens <= 0 {
					break
				}
			}
		}
		d.yield()
	}
	return nil
}

// sendDatagram stamps buf with now and the next sequence number and sends
// it. sent is false when the kernel refused it transiently (no buffer
// space, or an ICMP error from an earlier datagram); the sequence number is
// then reused so the receiver sees no gap.
func (s *dataStream) sendDatagram(buf []byte, now time.Time) (sent bool, err error) {
	seq := uint64(s.packets.Load()) + 1
	binary.BigEndian.PutUint32(buf[0:], uint32(now.Unix()))
	binary.BigEndian.PutUint32(buf[4:], uint32(now.Nanosecond()/1000))
	if s.cfg.Counters64 {
		binary.BigEndian.PutUint64(buf[8:], seq)
	} else {
		binary.BigEndian.PutUint32(buf[8:], uint32(seq))
	}
	n, err := s.Conn.Write(buf)
	if err != nil {
		if isRefused(err) || isNoBuffer(err) {
			return false, nil
		}
		return false, err
	}
	s.packets.Store(int64(seq))
	s.bytes.Add(int64(n))
	return true, nil
}

// recvUDP reads datagrams until the test stops.
func (d *dataPhase) recvUDP(s *dataStream) error {
	if s.fast.rx != nil {
		return d.recvUDPBatch(s, s.fast.rx)
	}
	for {
		n, err := s.Conn.Read(s.buf)
		if err != nil {
			if isRefused(err) && !d.halt.Load() {
				continue
			}
			return err
		}
		if s.omitReq.Load() {
			s.snapshotOmit()
		}
		if s.onDatagram(s.buf[:n], time.Now()) {
			d.received(n, true)
		}
		if d.halt.Load() {
			return nil
		}
		d.yield()
	}
}

// udpRecvState is a UDP receiver's accounting, owned by its goroutine and
// published through the stream's atomics after each datagram.
type udpRecvState struct {
	highest     int64 // highest sequence seen (iperf3's packet_count)
	bytes       int64 // bytes of counted datagrams
	lost        int64 // iperf3's cnt_error
	ooo         int64
	jitter      float64 // seconds, RFC 3550
	prevTransit float64
	first       bool
}

// onDatagram accounts one received datagram as iperf3 does: a gap in the
// sequence counts as loss, a sequence lower than expected is out of order
// and takes one back from the loss. It reports false for datagrams that are
// not test data (too short for the header, or sequence 0 such as a leftover
// handshake datagram), which are not counted at all.
func (s *dataStream) onDatagram(b []byte, now time.Time) bool {
	if !s.accountDatagram(b, now) {
		return false
	}
	s.publishRx()
	return true
}

// accountDatagram is onDatagram without publishing the counters, so that a
// batch of datagrams costs one set of atomic stores (publishRx).
func (s *dataStream) accountDatagram(b []byte, now time.Time) bool {
	hdr := iperf3wire.UDPHeaderSize32
	if s.cfg.Counters64 {
		hdr = iperf3wire.UDPHeaderSize64
	}
	if len(b) < hdr {
		return false
	}
	sec := binary.BigEndian.Uint32(b[0:])
	usec := binary.BigEndian.Uint32(b[4:])
	var seq uint64
	if s.cfg.Counters64 {
		seq = binary.BigEndian.Uint64(b[8:])
	} else {
		seq = uint64(binary.BigEndian.Uint32(b[8:]))
	}
	if seq == 0 || seq > math.MaxInt64 {
		return false
	}
	rx := &s.rx
	pc := int64(seq)
	if pc >= rx.highest+1 {
		if pc > rx.highest+1 {
			rx.lost += pc - 1 - rx.highest
		}
		rx.highest = pc
	} else {
		rx.ooo++
		if rx.lost > 0 {
			rx.lost--
		}
	}
	// Transit in integer microseconds first: exact, whatever the clock base
	// of the sender (only differences matter).
	transit := float64(now.UnixMicro()-(int64(sec)*1e6+int64(usec))) / 1e6
	if rx.first {
		rx.prevTransit = transit
		rx.first = false
	}
	dt := math.Abs(transit - rx.prevTransit)
	rx.prevTransit = transit
	rx.jitter += (dt - rx.jitter) / 16
	rx.bytes += int64(len(b))
	return true
}

// publishRx makes the receiver's accounting visible to the sampler.
func (s *dataStream) publishRx() {
	rx := &s.rx
	s.bytes.Store(rx.bytes)
	s.packets.Store(rx.highest)
	s.lost.Store(rx.lost)
	s.ooo.Store(rx.ooo)
	s.jitter.Store(math.Float64bits(rx.jitter))
}

// snapshotOmit records the counters at the end of the omit period and
// resets jitter, as iperf3's iperf_reset_stats does. UDP streams call it
// from their own goroutine; Stop calls it for streams that never did.
func (s *dataStream) snapshotOmit() {
	s.omitReq.Store(false)
	s.omitBytes.Store(s.bytes.Load())
	s.omitPackets.Store(s.packets.Load())
	s.omitLost.Store(s.lost.Load())
	s.omitOOO.Store(s.ooo.Load())
	s.rx.jitter = 0
	s.rx.first = true
	s.jitter.Store(0)
}
