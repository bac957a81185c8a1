package measure

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// UDP streams of every test share the listener's port, as with iperf3: the
// client sends a 4-byte datagram to the port, and the server answers from a
// socket connected to the sender. Several tests may be creating UDP streams
// at once, so one unconnected socket on the port (the dispatcher) receives
// those datagrams and gives each to the test waiting for streams from that
// client address; the stream itself gets its own socket, bound to the same
// port with SO_REUSEPORT and connected to the client, which the kernel
// prefers for the client's datagrams. The datagram carries no cookie, so
// only one test per client IP may be creating UDP streams at a time; others
// from the same IP wait their turn (a few milliseconds for a stock client).
//
// The dispatcher socket is open only while some test is waiting for UDP
// streams.

var udpConnectReply = []byte("6789") // UDP_CONNECT_REPLY as stock clients read it

type udpDispatcher struct {
	srv     *Server
	laddr   *net.UDPAddr
	network string

	mu      sync.Mutex
	pc      *net.UDPConn
	waiters []*udpWaiter
	ipTurn  map[netip.Addr]chan struct{} // closed when that IP's creator leaves
	readers sync.WaitGroup
	closed  bool
}

// udpWaiter is one test waiting for its UDP streams.
type udpWaiter struct {
	ip   netip.Addr
	need int // streams still to hand out
	ch   chan *net.UDPConn
	srcs map[netip.AddrPort]bool // clients already given a stream
}

func newUDPDispatcher(s *Server, ta *net.TCPAddr) *udpDispatcher {
	d := &udpDispatcher{
		srv:    s,
		laddr:  &net.UDPAddr{IP: ta.IP, Port: ta.Port, Zone: ta.Zone},
		ipTurn: make(map[netip.Addr]chan struct{}),
	}
	switch {
	case ta.IP.To4() != nil:
		d.network = "udp4"
	case ta.IP.IsUnspecified():
		d.network = "udp" // dual-stack, like the TCP listener
	default:
		d.network = "udp6"
	}
	return d
}

// register makes w the UDP stream creator for its client IP, waiting while
// another test from that IP holds the turn, and opens the dispatcher socket.
// The caller must call unregister.
func (d *udpDispatcher) register(ctx context.Context, ip netip.Addr, need int) (*udpWaiter, error) {
	ip = ip.Unmap()
	for {
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			return nil, net.ErrClosed
		}
		turn, busy := d.ipTurn[ip]
		if !busy {
			if d.pc == nil {
				if err := d.openLocked(); err != nil {
					d.mu.Unlock()
					return nil, err
				}
			}
			w := &udpWaiter{ip: ip, need: need, ch: make(chan *net.UDPConn, need), srcs: make(map[netip.AddrPort]bool)}
			d.ipTurn[ip] = make(chan struct{})
			d.waiters = append(d.waiters, w)
			d.mu.Unlock()
			return w, nil
		}
		d.mu.Unlock()
		select {
		case <-turn:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// unregister ends w's turn; streams it did not take are closed.
func (d *udpDispatcher) unregister(w *udpWaiter) {
	d.mu.Lock()
	for i, x := range d.waiters {
		if x == w {
			d.waiters = append(d.waiters[:i], d.waiters[i+1:]...)
			break
		}
	}
	if turn, ok := d.ipTurn[w.ip]; ok {
		close(turn)
		delete(d.ipTurn, w.ip)
	}
	var pc *net.UDPConn
	if len(d.waiters) == 0 && d.pc != nil {
		pc, d.pc = d.pc, nil
	}
	d.mu.Unlock()
	if pc != nil {
		pc.Close()
	}
	for {
		select {
		case c := <-w.ch:
			c.Close()
		default:
			return
		}
	}
}

// close shuts the dispatcher for good and waits for its reader.
func (d *udpDispatcher) close() {
	if d == nil {
		return
	}
	d.mu.Lock()
	d.closed = true
	pc := d.pc
	d.pc = nil
	d.mu.Unlock()
	if pc != nil {
		pc.Close()
	}
	d.readers.Wait()
}

func (d *udpDispatcher) openLocked() error {
	lc := net.ListenConfig{Control: reusePortControl}
	pc, err := lc.ListenPacket(context.Background(), d.network, d.laddr.String())
	if err != nil {
		return fmt.Errorf("UDP socket on %s: %w", d.laddr, err)
	}
	d.pc = pc.(*net.UDPConn)
	d.readers.Add(1)
	go d.read(d.pc)
	return nil
}

// read receives connect datagrams until pc is closed.
func (d *udpDispatcher) read(pc *net.UDPConn) {
	defer d.readers.Done()
	var buf [64]byte
	for {
		n, src, err := pc.ReadFromUDPAddrPort(buf[:])
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return
			}
			continue // e.g. ICMP errors reported on the socket
		}
		if n != 4 { // late data of an ended test, or noise
			continue
		}
		d.accept(src, 0)
	}
}

// accept gives the client at src a connected stream socket, if a test is
// waiting for it.
func (d *udpDispatcher) accept(src netip.AddrPort, depth int) {
	src = unmapAddrPort(src)
	// The allow list covers streams too: the datagram has no cookie, so an
	// outsider could otherwise take a waiting test's stream (and, in reverse
	// mode, aim its traffic anywhere).
	if !d.srv.allowed(src.Addr()) {
		d.srv.log().Debug("UDP connect datagram from a client not in the allow list", "client", src)
		return
	}
	d.mu.Lock()
	w := d.pickLocked(src)
	if w == nil {
		d.mu.Unlock()
		d.srv.log().Debug("UDP connect datagram from a client no test is waiting for", "client", src)
		return
	}
	w.need--
	w.srcs[src] = true
	d.mu.Unlock()

	c, strays, err := d.connect(src)
	if err != nil {
		d.srv.log().Warn("UDP stream socket failed", "client", src, "err", err)
		d.mu.Lock()
		w.need++
		delete(w.srcs, src)
		d.mu.Unlock()
		return
	}
	d.mu.Lock()
	live := false
	for _, x := range d.waiters {
		live = live || x == w
	}
	if live {
		w.ch <- c // never blocks: cap == need
	}
	d.mu.Unlock()
	if !live {
		c.Close()
	}
	// Connect datagrams of other clients that the kernel queued on the new
	// socket before it was connected.
	if depth < 4 {
		for _, s := range strays {
			d.accept(s, depth+1)
		}
	}
}

// pickLocked chooses the waiter for a datagram from src: the one waiting
// for that IP, else the only waiter (a client whose data leaves from another
// address, e.g. behind NAT).
func (d *udpDispatcher) pickLocked(src netip.AddrPort) *udpWaiter {
	var only *udpWaiter
	open := 0
	for _, w := range d.waiters {
		if w.need <= 0 || w.srcs[src] {
			if w.srcs[src] {
				return nil // a duplicate connect datagram
			}
			continue
		}
		if w.ip == src.Addr() {
			return w
		}
		open++
		only = w
	}
	if open == 1 {
		return only
	}
	return nil
}

// connect opens a socket on the dispatcher's port connected to src, answers
// the client, and returns connect datagrams of other clients found queued.
func (d *udpDispatcher) connect(src netip.AddrPort) (*net.UDPConn, []netip.AddrPort, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dialer := net.Dialer{LocalAddr: d.laddr, Control: reusePortControl}
	nc, err := dialer.DialContext(ctx, d.network, src.String())
	if err != nil {
		return nil, nil, err
	}
	c := nc.(*net.UDPConn)
	var strays []netip.AddrPort
	_ = c.SetReadDeadline(time.Now())
	var buf [64]byte
	for range 16 {
		n, from, err := c.ReadFromUDPAddrPort(buf[:])
		if err != nil {
			break
		}
		if from = unmapAddrPort(from); n == 4 && from != src {
			strays = append(strays, from)
		}
	}
	_ = c.SetReadDeadline(time.Time{})
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := c.Write(udpConnectReply); err != nil {
		c.Close()
		return nil, strays, fmt.Errorf("UDP connect reply: %w", err)
	}
	_ = c.SetWriteDeadline(time.Time{})
	return c, strays, nil
}
