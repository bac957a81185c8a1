//go:build linux

package measure

import "net"

// initFastPath picks the Linux fast paths for a new stream. Each one falls
// back to the portable loop when its setup fails.
func (s *dataStream) initFastPath() {
	if s.Conn == nil || s.cfg.Portable || envPortable {
		return
	}
	switch c := s.Conn.(type) {
	case *net.TCPConn:
		switch {
		case !s.Sender:
			if r := newTruncReader(c); r != nil {
				s.read, s.fast.truncRead = r.read, true
			}
		case s.cfg.ZeroCopy:
			if w := newSendfileWriter(c, s.buf[:max(s.cfg.Length, 1)], s.cfg.Log); w != nil {
				s.write, s.fast.sendfile = w.write, true
			}
		default:
			s.fast.blockable = true // see useBlockingSenders
		}
	case *net.UDPConn:
		gso := !s.cfg.NoGSO && !envNoGSO
		if s.Sender {
			if tx := newMmsgTx(c, s.cfg, gso); tx != nil {
				s.fast.tx = tx
			}
			return
		}
		if s.cfg.Window == 0 {
			growRecvBuffer(c, udpSocketBuf, s.cfg.Log)
		}
		if rx := newMmsgRx(c, s.cfg, gso); rx != nil {
			s.fast.rx = rx
		}
	}
}

// useBlockingSenders switches the TCP senders of a data phase to blocking
// writes (tcp_block_linux.go) when they are few: all of them, or none when
// there are more than maxBlockingSenders or the process has no slots left.
// Each switched stream releases its slot when its loop ends (runStream).
func useBlockingSenders(streams []*dataStream) {
	n := blockingCandidates(streams)
	if !acquireBlockingSlots(n) {
		return
	}
	for _, s := range streams {
		if !s.fast.blockable {
			continue
		}
		if w := newBlockingWriter(s.tcp); w != nil {
			s.write, s.fast.blocking = w.write, true
			n--
		}
	}
	for ; n > 0; n-- { // setup failed: those stay on the netpoller
		releaseBlockingSlot()
	}
}
