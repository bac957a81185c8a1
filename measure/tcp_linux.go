//go:build linux

package measure

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// truncReader receives TCP data with recv(MSG_TRUNC): the kernel counts and
// discards the bytes instead of copying them out (iperf3's --skip-rx-copy),
// which is most of a receiver's CPU. It waits in the netpoller like
// net.Conn.Read, so deadlines and Stop work unchanged. The recv itself is a
// RawSyscall for the reason given at rawWriter: it never sleeps, and telling
// the runtime about it cost a pinned receiver a third more CPU.
type truncReader struct {
	rc    syscall.RawConn
	p     []byte
	n     int
	errno syscall.Errno
	fn    func(fd uintptr) bool // r.recv, bound once: no allocation per read
}

func newTruncReader(c *net.TCPConn) *truncReader {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	r := &truncReader{rc: rc}
	r.fn = r.recv
	return r
}

func (r *truncReader) recv(fd uintptr) bool {
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(unsafe.SliceData(r.p))),
			uintptr(len(r.p)), unix.MSG_TRUNC|unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			r.n, r.errno = int(n), 0
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false // wait in the netpoller
		default:
			r.n, r.errno = 0, e
			return true
		}
	}
}

// read has net.Conn.Read's contract: io.EOF when the peer has closed.
func (r *truncReader) read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.p = p
	err := r.rc.Read(r.fn)
	r.p = nil
	switch {
	case err != nil:
		return 0, err
	case r.errno != 0:
		return 0, os.NewSyscallError("recvfrom", r.errno)
	case r.n == 0:
		return 0, io.EOF
	}
	return r.n, nil
}

// sendfileWriter sends -Z blocks with sendfile(2) from a memfd holding the
// block, with an explicit offset (so one file serves every write, and the
// kernel references its pages instead of copying from user memory).
type sendfileWriter struct {
	rc       syscall.RawConn
	conn     *net.TCPConn
	memfd    int
	size     int64 // bytes in the memfd
	off, end int64
	errno    error
	started  bool // a sendfile succeeded: its errors are real from now on
	fallback bool // sendfile does not work here: plain writes
	log      *slog.Logger
	fn       func(fd uintptr) bool
}

func newSendfileWriter(c *net.TCPConn, block []byte, log *slog.Logger) *sendfileWriter {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	fd, err := unix.MemfdCreate("iperfmon-zerocopy", unix.MFD_CLOEXEC)
	if err != nil {
		warnOnce(log, "memfd", "zero-copy (-Z) unavailable, using plain writes", "err", err)
		return nil
	}
	for off := 0; off < len(block); {
		n, err := unix.Pwrite(fd, block[off:], int64(off))
		if err != nil || n == 0 {
			_ = unix.Close(fd)
			warnOnce(log, "memfd", "zero-copy (-Z) unavailable, using plain writes", "err", err)
			return nil
		}
		off += n
	}
	w := &sendfileWriter{rc: rc, conn: c, memfd: fd, size: int64(len(block)), log: log}
	w.fn = w.sendfile
	// The stream has no close hook; the memfd goes with the writer.
	runtime.AddCleanup(w, func(fd int) { _ = unix.Close(fd) }, fd)
	return w
}

func (w *sendfileWriter) sendfile(fd uintptr) bool {
	for w.off < w.end {
		_, err := unix.Sendfile(int(fd), w.memfd, &w.off, int(w.end-w.off))
		switch {
		case err == nil:
			w.started = true
		case err == unix.EINTR:
		case err == unix.EAGAIN:
			return false
		default:
			w.errno = err
			return true
		}
	}
	return true
}

// write sends one block; p's contents are ignored (the memfd holds the
// same bytes), only its length counts.
func (w *sendfileWriter) write(p []byte) (int, error) {
	if w.fallback {
		return w.conn.Write(p)
	}
	w.off, w.errno = 0, nil
	w.end = min(int64(len(p)), w.size)
	err := w.rc.Write(w.fn)
	n := int(w.off)
	switch {
	case err != nil:
		return n, err
	case w.errno != nil:
		if !w.started && n == 0 && isUnsupported(w.errno) {
			warnOnce(w.log, "sendfile", "zero-copy (-Z) sendfile unsupported, using plain writes", "err", w.errno)
			w.fallback = true
			return w.conn.Write(p)
		}
		return n, os.NewSyscallError("sendfile", w.errno)
	}
	return n, nil
}

// isUnsupported reports errors that mean "this kernel or file system does
// not do that" rather than a failed connection.
func isUnsupported(err error) bool {
	return errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP)
}
