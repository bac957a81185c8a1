//go:build linux

package measure

import (
	"fmt"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// dialControl applies a test's socket options before connect, as iperf3
// does: TOS/traffic class, and for TCP the MSS, congestion algorithm and
// socket buffers (before connect so that window scaling matches).
// reuse sets SO_REUSEADDR for fixed client ports (--cport) in TIME_WAIT.
func dialControl(t Test, reuse bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		var err error
		cerr := c.Control(func(fd uintptr) {
			s := int(fd)
			set := func(what string, level, opt, v int) {
				if err == nil {
					if e := unix.SetsockoptInt(s, level, opt, v); e != nil {
						err = fmt.Errorf("set %s: %w", what, e)
					}
				}
			}
			if reuse {
				set("SO_REUSEADDR", unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
			}
			if t.TOS > 0 {
				if strings.HasSuffix(network, "6") {
					set("IPV6_TCLASS", unix.IPPROTO_IPV6, unix.IPV6_TCLASS, t.TOS)
				} else {
					set("IP_TOS", unix.IPPROTO_IP, unix.IP_TOS, t.TOS)
				}
			}
			if t.Window > 0 {
				set("SO_SNDBUF", unix.SOL_SOCKET, unix.SO_SNDBUF, t.Window)
				set("SO_RCVBUF", unix.SOL_SOCKET, unix.SO_RCVBUF, t.Window)
			}
			if strings.HasPrefix(network, "tcp") {
				if t.MSS > 0 {
					set("TCP_MAXSEG", unix.IPPROTO_TCP, unix.TCP_MAXSEG, t.MSS)
				}
				if t.Congestion != "" && err == nil {
					if e := unix.SetsockoptString(s, unix.IPPROTO_TCP, unix.TCP_CONGESTION, t.Congestion); e != nil {
						err = fmt.Errorf("set TCP_CONGESTION %q (see /proc/sys/net/ipv4/tcp_available_congestion_control): %w", t.Congestion, e)
					}
				}
			}
		})
		if cerr != nil {
			return cerr
		}
		return err
	}
}
