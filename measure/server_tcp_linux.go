package measure

import (
	"net"

	"golang.org/x/sys/unix"
)

// setCongestion sets the TCP congestion control algorithm (-C) on a data
// stream the server accepted.
func setCongestion(c *net.TCPConn, name string) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION, name)
	}); err != nil {
		return err
	}
	return serr
}
