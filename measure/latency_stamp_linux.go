package measure

import (
	"net"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/icmp"
	"golang.org/x/sys/unix"
)

// probeReader reads replies with the kernel's receive time
// (SO_TIMESTAMPNS), as ping does: the RTT then leaves out how long this
// process took to get to the reply, which on a host busy with the test's
// own streams can be milliseconds. Where the timestamp cannot be had, the
// time of the read stands in.
func probeReader(c *icmp.PacketConn, v6 bool) replyReader {
	var pc net.PacketConn
	if p := c.IPv4PacketConn(); p != nil && !v6 {
		pc = p.PacketConn
	} else if p := c.IPv6PacketConn(); p != nil && v6 {
		pc = p.PacketConn
	}
	sc, ok := pc.(syscall.Conn)
	if !ok {
		return plainReader(c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return plainReader(c)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		return plainReader(c)
	}
	oob := make([]byte, 128)
	switch conn := pc.(type) {
	case *net.UDPConn: // ping socket: the ICMP message alone
		return func(b []byte) (int, net.Addr, time.Time, error) {
			n, oobn, _, from, err := conn.ReadMsgUDP(b, oob)
			return n, from, kernelStamp(oob[:oobn]), err
		}
	case *net.IPConn: // raw socket: IPv4 keeps its header here
		return func(b []byte) (int, net.Addr, time.Time, error) {
			n, oobn, _, from, err := conn.ReadMsgIP(b, oob)
			if err == nil && !v6 {
				n = stripIPv4(b, n)
			}
			return n, from, kernelStamp(oob[:oobn]), err
		}
	}
	return plainReader(c)
}

// kernelStamp is the SCM_TIMESTAMPNS time in oob, or now.
func kernelStamp(oob []byte) time.Time {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err == nil {
		for _, m := range msgs {
			if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS &&
				len(m.Data) >= int(unsafe.Sizeof(unix.Timespec{})) {
				ts := (*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
				return time.Unix(int64(ts.Sec), int64(ts.Nsec))
			}
		}
	}
	return time.Now()
}

// stripIPv4 moves the payload of the IPv4 packet in b[:n] to its start.
func stripIPv4(b []byte, n int) int {
	if n < 20 || b[0]>>4 != 4 {
		return n
	}
	hl := int(b[0]&0x0f) * 4
	if hl < 20 || hl > n {
		return n
	}
	return copy(b, b[hl:n])
}
