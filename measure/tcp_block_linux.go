//go:build linux

package measure

import (
	"net"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// blockingWriter sends TCP blocks with blocking write(2), as iperf3 does:
// the thread sleeps in the kernel until the send buffer takes the whole
// block, instead of EAGAIN, a netpoller park and an epoll wake-up per
// partial write. SO_SNDTIMEO bounds each sleep, after which the write
// goes back through the netpoller, so deadlines (Stop) still work.
type blockingWriter struct {
	rc    syscall.RawConn
	p     []byte
	off   int
	errno syscall.Errno
	fn    func(fd uintptr) bool
}

// blockingSendTimeout bounds one blocking write: how late Stop may see a
// sender whose peer stopped reading.
const blockingSendTimeout = 100 * 1000 // µs

func newBlockingWriter(c *net.TCPConn) *blockingWriter {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		tv := unix.Timeval{Usec: blockingSendTimeout}
		if serr = unix.SetsockoptTimeval(int(fd), unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); serr != nil {
			return
		}
		serr = unix.SetNonblock(int(fd), false)
	}); err != nil || serr != nil {
		return nil
	}
	w := &blockingWriter{rc: rc}
	w.fn = w.send
	return w
}

func (w *blockingWriter) send(fd uintptr) bool {
	for w.off < len(w.p) {
		// syscall.Syscall: the runtime hands this P to another thread
		// while the write sleeps.
		n, _, e := syscall.Syscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&w.p[w.off])), uintptr(len(w.p)-w.off))
		switch e {
		case 0:
			w.off += int(n)
		case unix.EINTR:
		case unix.EAGAIN:
			return false // SO_SNDTIMEO: back to the netpoller, which checks deadlines
		default:
			w.errno = e
			return true
		}
	}
	return true
}

func (w *blockingWriter) write(p []byte) (int, error) {
	w.p, w.off, w.errno = p, 0, 0
	err := w.rc.Write(w.fn)
	n := w.off
	w.p = nil
	switch {
	case err != nil:
		return n, err
	case w.errno != 0:
		return n, os.NewSyscallError("write", w.errno)
	}
	return n, nil
}
