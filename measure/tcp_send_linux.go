//go:build linux

package measure

import (
	"net"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawWriter sends TCP blocks with write(2) on the non-blocking socket, as
// net.Conn.Write does, but through RawSyscall: the runtime is not told
// about the syscall. A 128 KiB write on loopback runs the receiver's whole
// TCP path and takes 50-100 µs; with one P (a pinned process) sysmon
// retakes the P from any syscall longer than 20 µs and wakes a spare
// thread that finds nothing to do: two context switches per block,
// 20 000+ a second, a tenth of the sender's CPU. A non-blocking write
// never sleeps, so holding the P through it is safe; EAGAIN still parks
// the goroutine in the netpoller, so deadlines and Stop work unchanged.
//
// Unlike net.Conn.Write it returns once the socket is full after taking
// part of p, so that the bytes of a large write count when the kernel
// takes them, not when all of it is taken (sendTCP writes the rest).
type rawWriter struct {
	rc    syscall.RawConn
	p     []byte
	off   int
	errno syscall.Errno
	fn    func(fd uintptr) bool // w.send, bound once: no allocation per write
}

func newRawWriter(c *net.TCPConn) *rawWriter {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	w := &rawWriter{rc: rc}
	w.fn = w.send
	return w
}

func (w *rawWriter) send(fd uintptr) bool {
	for w.off < len(w.p) {
		n, _, e := syscall.RawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&w.p[w.off])), uintptr(len(w.p)-w.off))
		switch e {
		case 0:
			w.off += int(n)
		case unix.EINTR:
		case unix.EAGAIN:
			return w.off > 0 // some taken: return it; none: wait in the netpoller
		default:
			w.errno = e
			return true
		}
	}
	return true
}

// write sends at least one byte of p, or returns an error.
func (w *rawWriter) write(p []byte) (int, error) {
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
