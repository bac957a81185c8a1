//go:build linux

package measure

import (
	"encoding/binary"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
	"golang.org/x/sys/unix"
)

// Linux UDP batches: sendmmsg/recvmmsg through raw syscalls on prebuilt
// headers (x/net's ReadBatch allocates per datagram, and x/sys has no
// wrapper), plus UDP GSO (UDP_SEGMENT) on send and GRO on receive. Both
// wait in the netpoller through RawConn, so deadlines and Stop work as for
// the portable loops.

const (
	mmsgMax        = 64        // messages per sendmmsg/recvmmsg
	batchBufMax    = 256 << 10 // bytes of datagrams per stream and batch
	gsoMaxSegments = 64        // UDP_MAX_SEGMENTS on older kernels (128 since 6.x)
	gsoMaxBytes    = 65507     // one UDP send over IPv4
	gsoMessages    = 4         // GSO messages per sendmmsg
	groSlots       = 8         // coalesced messages per recvmmsg
	groSlotSize    = 1 << 16   // a coalesced message is at most 64 KiB
)

// mmsghdr is struct mmsghdr (x/sys has no such type); Go pads it like C.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// gsoProbe: UDP_SEGMENT is probed once per process. It exists since 4.18;
// like quic-go we want 5.0 or newer, where the known GSO bugs are fixed.
var gsoProbe struct {
	once sync.Once
	ok   bool
}

func gsoSupported(rc syscall.RawConn) bool {
	gsoProbe.once.Do(func() {
		if !kernelAtLeast(5, 0) {
			return
		}
		var serr error
		if err := rc.Control(func(fd uintptr) {
			_, serr = unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT)
		}); err != nil {
			return
		}
		gsoProbe.ok = serr == nil
	})
	return gsoProbe.ok
}

// kernelAtLeast compares the running kernel's release with major.minor.
func kernelAtLeast(major, minor int) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	rel := unix.ByteSliceToString(u.Release[:])
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(strings.TrimFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}

// mmsgTx sends batches with sendmmsg, each message one datagram or, with
// GSO, up to gsoMaxSegments datagrams that the kernel splits.
type mmsgTx struct {
	rc    syscall.RawConn
	size  int
	buf   []byte
	room  int // datagrams per batch
	gso   bool
	segs  int // datagrams per GSO message
	hs    []mmsghdr
	iov   []unix.Iovec
	oob   []byte // GSO: one UDP_SEGMENT cmsg per message, prebuilt
	first bool   // nothing sent yet: EPERM is retried once
	log   *slog.Logger

	inject []syscall.Errno // tests: errors the next calls return instead of sending

	nmsg  int // set before each call
	res   int
	errno syscall.Errno
	fn    func(fd uintptr) bool
}

// gsoCmsgSpace is one UDP_SEGMENT control message (a uint16).
var gsoCmsgSpace = unix.CmsgSpace(2)

func newMmsgTx(c *net.UDPConn, cfg streamConfig, gso bool) *mmsgTx {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	size := max(cfg.Length, 1)
	t := &mmsgTx{rc: rc, size: size, first: true, log: cfg.Log}
	t.gso = gso && gsoSupported(rc)
	if t.gso {
		t.segs = min(gsoMaxSegments, gsoMaxBytes/size)
		t.gso = t.segs >= 2
	}
	if t.gso {
		t.room = gsoMessages * t.segs
	} else {
		t.room = min(mmsgMax, max(1, batchBufMax/size))
	}
	t.buf = newPayload(t.room*size, cfg.Repeating)
	t.hs = make([]mmsghdr, mmsgMax)
	t.iov = make([]unix.Iovec, mmsgMax)
	for i := range t.hs {
		t.hs[i].hdr.Iov = &t.iov[i]
		t.hs[i].hdr.SetIovlen(1)
	}
	if t.gso {
		t.oob = make([]byte, gsoMessages*gsoCmsgSpace)
		for i := range gsoMessages {
			b := t.oob[i*gsoCmsgSpace:]
			h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
			h.Level, h.Type = unix.SOL_UDP, unix.UDP_SEGMENT
			h.SetLen(unix.CmsgLen(2))
			binary.NativeEndian.PutUint16(b[unix.CmsgLen(0):], uint16(size))
		}
	}
	t.fn = t.sendmmsg
	return t
}

func (t *mmsgTx) buffer() []byte { return t.buf }
func (t *mmsgTx) capacity() int  { return t.room }

// pack lays out messages for datagrams [from, n) and returns how many
// messages it built and how many datagrams each full message holds.
func (t *mmsgTx) pack(from, n int) (msgs, per int) {
	per = 1
	if t.gso {
		per = t.segs
	}
	for from < n && msgs < len(t.hs) && (!t.gso || msgs < gsoMessages) {
		k := min(per, n-from)
		t.iov[msgs].Base = &t.buf[from*t.size]
		t.iov[msgs].SetLen(k * t.size)
		h := &t.hs[msgs].hdr
		if t.gso && k > 1 {
			h.Control = &t.oob[msgs*gsoCmsgSpace]
			h.SetControllen(gsoCmsgSpace)
		} else {
			h.Control = nil
			h.SetControllen(0)
		}
		from += k
		msgs++
	}
	return msgs, per
}

func (t *mmsgTx) send(n int) (int, error) {
	done := 0
	for done < n {
		m, per := t.pack(done, n)
		t.nmsg = m
		if err := t.rc.Write(t.fn); err != nil {
			return done, err
		}
		if e := t.errno; e != 0 {
			switch {
			case t.gso && (e == unix.EIO || e == unix.EINVAL || e == unix.EMSGSIZE):
				// No checksum offload on the route (quic-go#3911), a
				// segment over the path MTU...: this stream goes on
				// without GSO; the batch is resent datagram by datagram.
				warnOnce(t.log, "gso-"+e.Error(), "UDP GSO failed, stream falls back to sendmmsg", "err", e)
				t.gso = false
				continue
			case e == unix.EPERM && t.first:
				t.first = false // golang/go#63322: the first sendmsg may fail spuriously
				continue
			case e == unix.ENOBUFS || e == unix.ECONNREFUSED:
				return done, nil
			}
			return done, os.NewSyscallError("sendmmsg", e)
		}
		t.first = false
		done = min(done+t.res*per, n)
	}
	return done, nil
}

// sendmmsg and recvmmsg go through RawSyscall6, as the TCP data path
// does (rawWriter): the socket is non-blocking, so the call never sleeps,
// and telling the scheduler about a 20-50 µs batch made sysmon hand the P
// away and back on most batches (20,000 context switches a second on each
// side at -b 0, where 3.22 made under 100).
func (t *mmsgTx) sendmmsg(fd uintptr) bool {
	if len(t.inject) > 0 {
		t.res, t.errno, t.inject = 0, t.inject[0], t.inject[1:]
		return true
	}
	for {
		r, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&t.hs[0])), uintptr(t.nmsg), 0, 0, 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		t.res, t.errno = int(r), e
		return true
	}
}

// mmsgRx receives batches with recvmmsg; with GRO each message may hold
// several datagrams of the size its UDP_GRO control message gives.
type mmsgRx struct {
	rc    syscall.RawConn
	gro   bool
	slot  int
	buf   []byte
	hs    []mmsghdr
	iov   []unix.Iovec
	oob   []byte
	out   [][]byte
	res   int
	errno syscall.Errno
	fn    func(fd uintptr) bool
}

// groCmsgSpace holds the UDP_GRO control message (an int).
var groCmsgSpace = unix.CmsgSpace(4)

func newMmsgRx(c *net.UDPConn, cfg streamConfig, gro bool) *mmsgRx {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	r := &mmsgRx{rc: rc}
	if gro && gsoSupported(rc) {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_GRO, 1)
		}); err == nil && serr == nil {
			r.gro = true
		}
	}
	slots := 0
	if r.gro {
		r.slot, slots = groSlotSize, groSlots
	} else {
		r.slot = max(cfg.Length, iperf3wire.UDPHeaderSize64)
		slots = min(mmsgMax, max(1, batchBufMax/r.slot))
	}
	r.buf = make([]byte, slots*r.slot)
	r.hs = make([]mmsghdr, slots)
	r.iov = make([]unix.Iovec, slots)
	if r.gro {
		r.oob = make([]byte, slots*groCmsgSpace)
		r.out = make([][]byte, 0, slots*gsoMaxSegments*2)
	} else {
		r.out = make([][]byte, 0, slots)
	}
	for i := range r.hs {
		r.iov[i].Base = &r.buf[i*r.slot]
		r.iov[i].SetLen(r.slot)
		r.hs[i].hdr.Iov = &r.iov[i]
		r.hs[i].hdr.SetIovlen(1)
		if r.gro {
			r.hs[i].hdr.Control = &r.oob[i*groCmsgSpace]
		}
	}
	r.fn = r.recvmmsg
	return r
}

func (r *mmsgRx) recvmmsg(fd uintptr) bool {
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hs[0])), uintptr(len(r.hs)),
			unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		r.res, r.errno = int(n), e
		return true
	}
}

func (r *mmsgRx) recv() ([][]byte, error) {
	if r.gro {
		for i := range r.hs {
			r.hs[i].hdr.SetControllen(groCmsgSpace)
		}
	}
	if err := r.rc.Read(r.fn); err != nil {
		return nil, err
	}
	if r.errno != 0 {
		return nil, os.NewSyscallError("recvmmsg", r.errno)
	}
	out := r.out[:0]
	for i := range r.res {
		b := r.buf[i*r.slot : i*r.slot+int(r.hs[i].n)]
		if r.gro {
			ctl := r.oob[i*groCmsgSpace : i*groCmsgSpace+int(r.hs[i].hdr.Controllen)]
			if seg := groSegmentSize(ctl); seg > 0 {
				for len(b) > seg {
					out = append(out, b[:seg])
					b = b[seg:]
				}
			}
		}
		out = append(out, b)
	}
	r.out = out
	return out, nil
}

// groSegmentSize finds the UDP_GRO control message without allocating
// (unix.ParseSocketControlMessage allocates).
func groSegmentSize(oob []byte) int {
	hdr := unix.CmsgLen(0)
	for len(oob) >= hdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < hdr || l > len(oob) {
			return 0
		}
		if h.Level == unix.SOL_UDP && h.Type == unix.UDP_GRO && l >= unix.CmsgLen(4) {
			return int(int32(binary.NativeEndian.Uint32(oob[hdr:])))
		}
		next := unix.CmsgSpace(l - hdr)
		if next >= len(oob) {
			return 0
		}
		oob = oob[next:]
	}
	return 0
}

// growRecvBuffer makes sure a UDP receiver has a buffer of several MiB: it
// reads back what the kernel granted (capped by net.core.rmem_max), tries
// SO_RCVBUFFORCE (needs CAP_NET_ADMIN) and warns once when it stays small,
// as quic-go does. A small buffer shows up as loss at high packet rates.
func growRecvBuffer(c *net.UDPConn, want int, log *slog.Logger) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		// The kernel reports twice the value it accepted (bookkeeping).
		got, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
		if err != nil || got >= want {
			return
		}
		_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, want)
		if got, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF); err == nil && got < want {
			warnOnce(log, "rcvbuf", "UDP receive buffer smaller than wanted; raise the sysctl net.core.rmem_max",
				"got_bytes", got/2, "wanted_bytes", want)
		}
	})
}
