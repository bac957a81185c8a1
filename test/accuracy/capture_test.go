//go:build linux

package accuracy

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// capture records when UDP data datagrams arrive at one end of the link:
// an AF_PACKET socket on the veth in that end's namespace, with kernel
// receive timestamps. veth timestamps a packet when the sending end hands
// it over, so on an unshaped link the arrivals are the sender's departures:
// what a shaper or policer on the path would see.
type capture struct {
	fd       int
	quit     atomic.Bool
	done     chan struct{}
	arrivals []arrival
	drops    uint32
	err      error
}

// arrival is one packet: kernel time and bytes on the wire. A UDP GSO
// packet crosses the veth whole; it is one arrival of all its segments.
type arrival struct {
	at   time.Duration // since the Unix epoch
	wire int           // frames × (payload + UDP + IP + Ethernet headers)
}

// captureFrame is the part of a packet read: the IPv4 header is enough.
const captureFrame = 64

// startCapture opens the socket inside side's namespace (on a thread that
// enters it and dies with its goroutine) and records UDP datagrams longer
// than 100 bytes (not iperf3's 4-byte handshakes) of length bytes payload.
func (l *link) startCapture(s side, length int) (*capture, error) {
	c := &capture{fd: -1, done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		defer close(c.done)
		runtime.LockOSThread() // never unlocked: the thread has entered the namespace
		// The reader must keep up with the tools, which run at niceLevel:
		// a nice value is per thread on Linux.
		_ = unix.Setpriority(unix.PRIO_PROCESS, 0, niceLevel())
		if err := c.open(l.ns[s], l.dev[s]); err != nil {
			ready <- err
			return
		}
		ready <- nil
		c.loop(length)
	}()
	if err := <-ready; err != nil {
		<-c.done
		return nil, err
	}
	return c, nil
}

func (c *capture) open(ns, dev string) error {
	nsf, err := os.Open(filepath.Join("/run/netns", ns))
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", ns, err)
	}
	defer nsf.Close()
	if err := unix.Setns(int(nsf.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("enter namespace %s: %w", ns, err)
	}
	ifi, err := net.InterfaceByName(dev)
	if err != nil {
		return err
	}
	proto := int(htons(unix.ETH_P_IP))
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return fmt.Errorf("AF_PACKET socket: %w", err)
	}
	c.fd = fd
	steps := []struct {
		what string
		err  error
	}{
		{"bind", unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: ifi.Index})},
		{"SO_RCVBUFFORCE", unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 64<<20)},
		{"SO_TIMESTAMPNS", unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)},
		// A read wakes up at least every 100 ms, so that stop is prompt.
		{"SO_RCVTIMEO", unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 100_000})},
	}
	for _, st := range steps {
		if st.err != nil {
			unix.Close(fd)
			c.fd = -1
			return fmt.Errorf("capture socket %s: %w", st.what, st.err)
		}
	}
	return nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (c *capture) loop(length int) {
	buf := make([]byte, captureFrame)
	oob := make([]byte, 128)
	for {
		n, oobn, _, from, err := unix.Recvmsg(c.fd, buf, oob, unix.MSG_TRUNC)
		switch {
		case c.quit.Load():
			return
		case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			c.err = err
			return
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		if n < 28 || buf[0]>>4 != 4 || buf[9] != unix.IPPROTO_UDP || n-20 <= 100 {
			continue
		}
		at, ok := rxTime(oob[:oobn])
		if !ok {
			continue
		}
		frames := max(1, int(math.Ceil(float64(n-28)/float64(length))))
		c.arrivals = append(c.arrivals, arrival{at: at, wire: n - 28 + frames*(28+14)})
	}
}

// rxTime reads the SCM_TIMESTAMPNS control message.
func rxTime(oob []byte) (time.Duration, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_TIMESTAMPNS && len(m.Data) >= 16 {
			ts := (*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
			return time.Duration(ts.Nano()), true
		}
	}
	return 0, false
}

// stop ends the capture and returns the arrivals in time order.
func (c *capture) stop() ([]arrival, error) {
	if st, err := unix.GetsockoptTpacketStats(c.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
		c.drops = st.Drops
	}
	c.quit.Store(true)
	<-c.done // the read times out within 100 ms and sees quit
	unix.Close(c.fd)
	if c.err != nil {
		return nil, c.err
	}
	if c.drops > 0 {
		return nil, fmt.Errorf("the capture socket dropped %d packets: the host was too busy", c.drops)
	}
	slices.SortFunc(c.arrivals, func(a, b arrival) int { return int(a.at - b.at) })
	return c.arrivals, nil
}

// burstStats is what a sender's traffic asks of a token bucket at rate
// bits/s: the bucket depth that passes every packet without delay or drop
// (the backlog of a server of that rate fed with the arrivals), its
// maximum over the window and its 99.9th percentile over packets.
type burstStats struct {
	maxBytes, p999Bytes float64
	packets             int
	wireBPS             float64 // mean rate on the wire over the window
	stalled             float64 // share of [from, to) left out as make-up after stalls
}

// neededBucket computes burstStats over arrivals in [from, to).
func neededBucket(arr []arrival, rate float64, from, to time.Duration) burstStats {
	return neededBucketSkipping(arr, rate, from, to, nil)
}

// span is a stretch of time, [from, to).
type span struct{ from, to time.Duration }

// makeUps finds the host's stalls of a paced sender in its arrivals: a
// gap of more than gap between two arrivals (a sender at 90 Mbit/s or more
// sends every 125 µs or sooner). A stall of s is followed by its make-up,
// at 1.25 times the rate or more, so it lasts at most 4·s: that stretch,
// plus a millisecond, is returned for each stall.
func makeUps(arr []arrival, from, to, gap time.Duration) []span {
	var out []span
	for i := 1; i < len(arr); i++ {
		a, b := arr[i-1].at, arr[i].at
		if a < from || b >= to {
			continue
		}
		if s := b - a; s > gap {
			m := span{b, b + 4*s + time.Millisecond}
			if n := len(out); n > 0 && m.from <= out[n-1].to {
				out[n-1].to = max(out[n-1].to, m.to)
				continue
			}
			out = append(out, m)
		}
	}
	return out
}

// neededBucketSkipping is neededBucket leaving out the arrivals inside
// skip (sorted by start): they are not counted, and the server's queue
// starts empty after each.
func neededBucketSkipping(arr []arrival, rate float64, from, to time.Duration, skip []span) burstStats {
	var q float64
	var prev time.Duration
	var qs []float64
	var bytes float64
	var t0 time.Duration
	var skipped time.Duration
	k := 0
	for _, a := range arr {
		if a.at < from || a.at >= to {
			continue
		}
		for k < len(skip) && skip[k].to <= a.at {
			skipped += skip[k].to - max(skip[k].from, from)
			k++
			q = 0
		}
		if k < len(skip) && a.at >= skip[k].from {
			continue
		}
		if len(qs) > 0 {
			q = max(0, q-rate/8*(a.at-prev).Seconds())
			bytes += float64(a.wire)
		} else {
			t0 = a.at
		}
		prev = a.at
		q += float64(a.wire)
		qs = append(qs, q)
	}
	if len(qs) == 0 {
		return burstStats{maxBytes: math.NaN(), p999Bytes: math.NaN()}
	}
	slices.Sort(qs)
	st := burstStats{maxBytes: qs[len(qs)-1], p999Bytes: qs[len(qs)*999/1000], packets: len(qs)}
	if to > from {
		st.stalled = float64(skipped) / float64(to-from)
	}
	if d := (prev - t0).Seconds(); d > 0 {
		st.wireBPS = bytes * 8 / d
	}
	return st
}
