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
			if t.BindDevice != "" && err == nil {
				if e := unix.BindToDevice(s, t.BindDevice); e != nil {
					err = fmt.Errorf("set SO_BINDTODEVICE %q: %w", t.BindDevice, e)
				}
			}
			if t.FQRate > 0 {
				set("SO_MAX_PACING_RATE", unix.SOL_SOCKET, unix.SO_MAX_PACING_RATE, int(min(t.FQRate/8, 1<<32-1)))
			}
			if t.DontFragment && network == "udp4" {
				set("IP_MTU_DISCOVER", unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DO)
			}
			if strings.HasPrefix(network, "tcp") {
				if t.SndTimeout > 0 {
					set("TCP_USER_TIMEOUT", unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(t.SndTimeout.Milliseconds()))
				}
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

// deviceControl binds the control connection to a device (--bind-dev).
func deviceControl(dev string) func(network, address string, c syscall.RawConn) error {
	if dev == "" {
		return nil
	}
	return func(_, _ string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) { err = unix.BindToDevice(int(fd), dev) }); cerr != nil {
			return cerr
		}
		if err != nil {
			return fmt.Errorf("set SO_BINDTODEVICE %q: %w", dev, err)
		}
		return nil
	}
}
