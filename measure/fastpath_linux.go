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
			if w := newRawWriter(c); w != nil {
				s.write, s.fast.rawWrite = w.write, true
			}
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
