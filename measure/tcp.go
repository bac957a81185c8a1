package measure

import "sync"

// sendBatch is how many blocks of the default size (128 KiB) an unpaced TCP
// sender without a -n/-k budget hands the kernel per write. TCP is a byte
// stream, so nothing on the wire changes; a larger write lets one system
// call carry more of the kernel's per-call work. On loopback a 2-CPU host
// moved 2.2-2.6 times the bytes per CPU second with 512 KiB writes, at any
// -P (docs/performance.md). Only the Linux fast path batches: its writes
// return as the kernel takes bytes, so a slow link still counts them as
// they leave. A block size the user chose (-l) is written as chosen, and
// paced or budgeted tests keep block-sized writes, so their pacing and
// their last block stay exact.
const sendBatch = 4

// batchPayload is the one read-only payload every batching sender writes
// (random, or the repeating pattern): the memory is the same at any -P.
var batchPayload = [2]func() []byte{
	sync.OnceValue(func() []byte { return newPayload(sendBatch*DefaultTCPLength, false) }),
	sync.OnceValue(func() []byte { return newPayload(sendBatch*DefaultTCPLength, true) }),
}

// sendBlock is what one write of sendTCP sends.
func (d *dataPhase) sendBlock(s *dataStream, paced bool) []byte {
	c := d.cfg
	if !s.fast.rawWrite || paced || c.Length != DefaultTCPLength || c.Bytes > 0 || c.Blocks > 0 {
		return s.buf[:c.Length]
	}
	if c.Repeating {
		return batchPayload[1]()
	}
	return batchPayload[0]()
}

// sendTCP writes the same block until the test stops or the -n/-k budget
// is used up. No allocation and no clock read per write unless paced.
// s.write is the swappable send primitive (sendfile for -Z on Linux).
func (d *dataPhase) sendTCP(s *dataStream) error {
	p := newPacer(d.cfg.Bitrate, d.cfg.Length, d.start).deep()
	p.forgiveAt(d.omitDoneCh)
	buf := d.sendBlock(s, p != nil)
	for !d.halt.Load() {
		if !d.reserve(len(buf)) {
			d.senderExhausted()
			return nil
		}
		if p != nil {
			if !p.wait(d.quit) {
				return nil
			}
			p.spend(len(buf))
		}
		for off := 0; off < len(buf); {
			n, err := s.write(buf[off:])
			s.bytes.Add(int64(n))
			if err != nil {
				return err
			}
			off += n
		}
		d.yield()
	}
	return nil
}

// recvTCP reads into one reusable buffer until the peer closes or the test
// stops. s.read is the swappable receive primitive.
func (d *dataPhase) recvTCP(s *dataStream) error {
	for {
		n, err := s.read(s.buf)
		if n > 0 {
			s.bytes.Add(int64(n))
			d.received(n, false)
		}
		if err != nil {
			return err
		}
		if d.halt.Load() {
			return nil
		}
		d.yield()
	}
}
