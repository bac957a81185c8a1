//go:build linux

package measure

import (
	"net"
	"os"
	"syscall"
	"time"
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
			return false // wait in the netpoller
		default:
			w.errno = e
			return true
		}
	}
	return true
}

// write has net.Conn.Write's contract: all of p, or an error.
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

// EXPERIMENT (to be removed): IPERFMON_EXPERIMENT_TCP_THREADS=1 sends each
// unpaced TCP stream from its own locked OS thread with blocking write(2),
// as iperf3 3.16+ does with a pthread per stream.
var tcpThreads = envTrue("IPERFMON_EXPERIMENT_TCP_THREADS")

// useThread moves an unpaced TCP sender from rawWriter to a blockingWriter
// on its own OS thread (sendTCP locks it). startDataPhase calls it when the
// test has several TCP senders.
func (s *dataStream) useThread() {
	if !tcpThreads || !s.Sender || s.tcp == nil || s.cfg.Bitrate != 0 || s.fast.sendfile || s.cfg.Portable || envPortable {
		return
	}
	if w := newBlockingWriter(s.tcp); w != nil {
		s.write, s.fast.thread, s.fast.wake = w.write, true, w.wake
	}
}

// sendTimeout bounds one blocking write (SO_SNDTIMEO): a writer whose
// peer stopped reading comes back this often to see the test's deadline.
const sendTimeout = 200 * time.Millisecond

// blockingWriter sends TCP blocks with blocking write(2) on a socket taken
// out of non-blocking mode, from a goroutine locked to its OS thread: the
// thread sleeps in the kernel when the send buffer is full and the kernel
// time-slices the streams' threads. Deadlines still act between writes
// (RawConn.Write checks them before calling send); inside one write
// SO_SNDTIMEO bounds the wait, and wake (shutdown) ends a blocked write at
// once when the test stops.
type blockingWriter struct {
	rc       syscall.RawConn
	conn     *net.TCPConn
	p        []byte
	off      int
	errno    syscall.Errno
	timedOut bool
	fn       func(fd uintptr) bool
}

func newBlockingWriter(c *net.TCPConn) *blockingWriter {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		tv := unix.NsecToTimeval(sendTimeout.Nanoseconds())
		if serr = unix.SetsockoptTimeval(int(fd), unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); serr != nil {
			return
		}
		serr = unix.SetNonblock(int(fd), false)
	})
	if err != nil || serr != nil {
		return nil
	}
	w := &blockingWriter{rc: rc, conn: c}
	w.fn = w.send
	return w
}

func (w *blockingWriter) send(fd uintptr) bool {
	for w.off < len(w.p) {
		n, _, e := syscall.Syscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&w.p[w.off])), uintptr(len(w.p)-w.off))
		switch e {
		case 0:
			w.off += int(n)
		case unix.EINTR:
		case unix.EAGAIN: // SO_SNDTIMEO ran out
			w.timedOut = true
			return true
		default:
			w.errno = e
			return true
		}
	}
	return true
}

// write has net.Conn.Write's contract: all of p, or an error.
func (w *blockingWriter) write(p []byte) (int, error) {
	w.p, w.off, w.errno = p, 0, 0
	defer func() { w.p = nil }()
	for {
		w.timedOut = false
		if err := w.rc.Write(w.fn); err != nil {
			return w.off, err
		}
		if w.errno != 0 {
			return w.off, os.NewSyscallError("write", w.errno)
		}
		if !w.timedOut {
			return w.off, nil
		}
	}
}

// wake ends a write blocked in the kernel: shutdown(SHUT_WR) wakes it with
// EPIPE. Only for a stream that is done sending.
func (w *blockingWriter) wake() { _ = w.conn.CloseWrite() }
