//go:build linux

package measure

import (
	"net"
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
	}, true
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
