//go:build linux

package measure

import (
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// tcpInfoSupported: the kernel reports retransmits, RTT and cwnd.
const tcpInfoSupported = true

// tcpInfo is the part of TCP_INFO iperf3 reports.
type tcpInfo struct {
	totalRetrans int64
	cwnd         int64 // bytes: snd_cwnd × snd_mss
	rtt          time.Duration
	rttvar       time.Duration
	pmtu         int64 // bytes
	sndWnd       int64 // bytes: the peer's advertised window
	reorder      int64 // reordering events seen (tcpi_reord_seen)
}

// readTCPInfo reads TCP_INFO (x/sys allocates the struct: call it once per
// interval, not per write).
func readTCPInfo(c *net.TCPConn) (tcpInfo, bool) {
	if c == nil {
		return tcpInfo{}, false
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return tcpInfo{}, false
	}
	var ti *unix.TCPInfo
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		ti, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil || gerr != nil || ti == nil {
		return tcpInfo{}, false
	}
	return tcpInfo{
		totalRetrans: int64(ti.Total_retrans),
		cwnd:         int64(ti.Snd_cwnd) * int64(ti.Snd_mss),
		rtt:          time.Duration(ti.Rtt) * time.Microsecond,
		rttvar:       time.Duration(ti.Rttvar) * time.Microsecond,
		pmtu:         int64(ti.Pmtu),
		sndWnd:       int64(ti.Snd_wnd),
		reorder:      int64(ti.Reord_seen),
	}, true
}

// socketFacts reads what iperf3 reports at the start of a test: the TCP
// MSS (0 for UDP) and the socket buffer sizes the kernel granted.
func socketFacts(c net.Conn) (mss, sndbuf, rcvbuf int) {
	sc, ok := c.(interface {
		SyscallConn() (syscall.RawConn, error)
	})
	if !ok {
		return 0, 0, 0
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, 0, 0
	}
	_ = rc.Control(func(fd uintptr) {
		if _, tcp := c.(*net.TCPConn); tcp {
			mss, _ = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_MAXSEG)
		}
		sndbuf, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF)
		rcvbuf, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	})
	return mss, sndbuf, rcvbuf
}

// tcpCongestion returns the connection's congestion control algorithm.
func tcpCongestion(c *net.TCPConn) string {
	if c == nil {
		return ""
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return ""
	}
	var name string
	_ = rc.Control(func(fd uintptr) {
		name, _ = unix.GetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION)
	})
	return name
}
