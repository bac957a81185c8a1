//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package measure

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// reusePortControl lets the dispatcher and every stream socket of every test
// bind the same UDP port.
func reusePortControl(_, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); serr != nil {
			return
		}
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
