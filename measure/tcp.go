package measure

// sendTCP writes the same block until the test stops or the -n/-k budget
// is used up. No allocation and no clock read per write unless paced.
// s.write is the swappable send primitive (sendfile for -Z on Linux).
func (d *dataPhase) sendTCP(s *dataStream) error {
	buf := s.buf[:d.cfg.Length]
	p := newPacer(d.cfg.Bitrate, len(buf), d.start).deep()
	p.forgiveAt(d.omitDoneCh)
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
		n, err := s.write(buf)
		s.bytes.Add(int64(n))
		if err != nil {
			return err
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
