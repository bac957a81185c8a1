package measure

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Latency probe: ICMP echo to the server's address, so that it works
// against any iperf3 server (a stock server answers nothing new on its
// ports). The rate is fixed and low so that the probe does not disturb
// the measurement: 10 probes/s on average of 84-byte packets (IPv4) is
// about 7 kbit/s; the shortest gap (75 ms) of 104-byte IPv6 packets is
// 11 kbit/s.
const (
	// ProbeInterval is the mean time between two probes: 10 probes per
	// second on average, never more than 13.4 (see probeGap); the
	// idle phase takes IdleProbes-1 gaps, about 0.4 s.
	ProbeInterval = 100 * time.Millisecond
	// IdleProbes is how many probes are sent just before the data phase.
	IdleProbes = 5
	// ProbeTimeout is how long a probe waits for its reply; a later
	// reply counts as lost.
	ProbeTimeout = time.Second
	// maxLoadedProbes bounds the samples kept for one test (an hour).
	maxLoadedProbes = 36000
	probePayload    = 56 // bytes of echo data, as ping's default
)

// Probe methods, as Latency.Method reports them.
const (
	ProbeICMPUnprivileged = "icmp-unprivileged" // ping socket (net.ipv4.ping_group_range)
	ProbeICMPRaw          = "icmp-raw"          // raw socket (root or CAP_NET_RAW)
)

// Latency is the round-trip time to the server before and during a test's
// data phase. A nil *Latency means no probe was asked for.
type Latency struct {
	Method string // ProbeICMPUnprivileged or ProbeICMPRaw; empty when Unavailable
	Target string // the address probed (the control connection's peer)
	// Unavailable says why no probe could run (no ICMP socket allowed);
	// the test itself still succeeds.
	Unavailable string
	Idle        RTTStats // probes just before the data phase
	Loaded      RTTStats // probes during the measured time (omit excluded)
}

// RTTStats summarizes the probes of one phase. The statistics are of the
// replies received; they are zero when Received is 0.
type RTTStats struct {
	Sent     int
	Received int
	Median   time.Duration
	Min      time.Duration
	Max      time.Duration
	P90      time.Duration // 90th percentile, nearest rank
	// First and Last are when the phase's first and last probe were sent
	// (zero when none was): the window the figures describe.
	First, Last time.Time
}

// Increase is the loaded median minus the idle median, and whether both
// phases had replies.
func (l *Latency) Increase() (time.Duration, bool) {
	if l == nil || l.Idle.Received == 0 || l.Loaded.Received == 0 {
		return 0, false
	}
	return l.Loaded.Median - l.Idle.Median, true
}

func summarize(sent int, rtts []time.Duration) RTTStats {
	s := RTTStats{Sent: sent, Received: len(rtts)}
	if len(rtts) == 0 {
		return s
	}
	v := slices.Clone(rtts)
	slices.Sort(v)
	n := len(v)
	s.Min, s.Max = v[0], v[n-1]
	if n%2 == 1 {
		s.Median = v[n/2]
	} else {
		s.Median = (v[n/2-1] + v[n/2]) / 2
	}
	s.P90 = v[int(math.Ceil(0.9*float64(n)))-1]
	return s
}

// probeOpen opens an ICMP socket, for tests to force a path.
var probeOpen = openICMP

// openICMP opens an unprivileged ping socket if the host allows one, a raw
// ICMP socket otherwise, and says which.
func openICMP(v6 bool, bind net.IP) (*icmp.PacketConn, string, error) {
	udpNet, rawNet, any := "udp4", "ip4:icmp", "0.0.0.0"
	if v6 {
		udpNet, rawNet, any = "udp6", "ip6:ipv6-icmp", "::"
	}
	addr := any
	if bind != nil {
		addr = bind.String()
	}
	c, errU := icmp.ListenPacket(udpNet, addr)
	if errU == nil {
		return c, ProbeICMPUnprivileged, nil
	}
	c, errR := icmp.ListenPacket(rawNet, addr)
	if errR == nil {
		return c, ProbeICMPRaw, nil
	}
	return nil, "", fmt.Errorf("no ICMP socket: ping socket: %v (allowed groups: sysctl net.ipv4.ping_group_range); raw socket: %v (needs root or CAP_NET_RAW)", errU, errR)
}

// replyReader reads one packet's ICMP message and when it arrived.
type replyReader func(b []byte) (n int, from net.Addr, at time.Time, err error)

// plainReader times a reply when this process reads it.
func plainReader(c *icmp.PacketConn) replyReader {
	return func(b []byte) (int, net.Addr, time.Time, error) {
		n, from, err := c.ReadFrom(b)
		return n, from, time.Now(), err
	}
}

// prober sends echo requests to one address and matches the replies.
type prober struct {
	conn   *icmp.PacketConn
	readTo replyReader
	method string
	dst    net.Addr
	v6     bool
	id     int
	nonce  [8]byte

	mu      sync.Mutex
	seq     uint16
	pending map[uint16]time.Time
	rtts    []time.Duration // replies of the current phase
	sent    int
	first   time.Time // the current phase's first and last probe
	last    time.Time
	done    chan struct{}
	readers sync.WaitGroup
}

// newProber opens a socket towards ip and starts reading replies.
func newProber(ip net.IP, bind net.IP) (*prober, error) {
	v6 := ip.To4() == nil
	c, method, err := probeOpen(v6, bind)
	if err != nil {
		return nil, err
	}
	p := &prober{conn: c, readTo: probeReader(c, v6), method: method, v6: v6, pending: map[uint16]time.Time{}, done: make(chan struct{})}
	if method == ProbeICMPUnprivileged {
		p.dst = &net.UDPAddr{IP: ip}
	} else {
		p.dst = &net.IPAddr{IP: ip}
	}
	var b [10]byte
	_, _ = crand.Read(b[:])
	p.id = int(binary.BigEndian.Uint16(b[:2]))
	copy(p.nonce[:], b[2:])
	p.readers.Add(1)
	go p.read()
	return p, nil
}

// read matches replies until close. Ping sockets see only their own
// replies (the kernel rewrites the id); raw sockets see every ICMP packet,
// so the id, source and nonce are all checked.
func (p *prober) read() {
	defer p.readers.Done()
	buf := make([]byte, 1500)
	for {
		_ = p.conn.SetReadDeadline(time.Now().Add(ProbeInterval))
		n, from, now, err := p.readTo(buf)
		select {
		case <-p.done:
			return
		default:
		}
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(ProbeInterval) // a transient error: never spin
			continue
		}
		seq, ok := p.reply(buf[:n], from)
		if !ok {
			continue
		}
		p.mu.Lock()
		if sentAt, ok := p.pending[seq]; ok {
			delete(p.pending, seq)
			if rtt := now.Sub(sentAt); rtt > 0 && rtt <= ProbeTimeout && len(p.rtts) < maxLoadedProbes {
				p.rtts = append(p.rtts, rtt)
			}
		}
		p.mu.Unlock()
	}
}

// reply is the sequence number of b when b, received from from, is an
// echo reply to this prober: its nonce, and on a raw socket its id and
// source too.
func (p *prober) reply(b []byte, from net.Addr) (seq uint16, ok bool) {
	proto := ipv4.ICMPTypeEchoReply.Protocol()
	var want icmp.Type = ipv4.ICMPTypeEchoReply
	if p.v6 {
		proto, want = ipv6.ICMPTypeEchoReply.Protocol(), ipv6.ICMPTypeEchoReply
	}
	m, err := icmp.ParseMessage(proto, b)
	if err != nil || m.Type != want {
		return 0, false
	}
	e, ok := m.Body.(*icmp.Echo)
	if !ok || len(e.Data) < len(p.nonce) || [8]byte(e.Data[:8]) != p.nonce {
		return 0, false
	}
	if p.method == ProbeICMPRaw && (e.ID != p.id || !sameIP(from, p.dst)) {
		return 0, false
	}
	return uint16(e.Seq), true
}

func sameIP(a, b net.Addr) bool { return addrIP(a).Equal(addrIP(b)) }

// addrIP is the IP of an IP, TCP or UDP address.
func addrIP(a net.Addr) net.IP {
	switch v := a.(type) {
	case *net.IPAddr:
		return v.IP
	case *net.TCPAddr:
		return v.IP
	case *net.UDPAddr:
		return v.IP
	}
	return nil
}

// send writes one echo request. A failed write counts as a lost probe.
func (p *prober) send() {
	var typ icmp.Type = ipv4.ICMPTypeEcho
	if p.v6 {
		typ = ipv6.ICMPTypeEchoRequest
	}
	p.mu.Lock()
	p.seq++
	seq := p.seq
	p.mu.Unlock()
	data := make([]byte, probePayload)
	copy(data, p.nonce[:])
	b, err := (&icmp.Message{Type: typ, Body: &icmp.Echo{ID: p.id, Seq: int(seq), Data: data}}).Marshal(nil)
	if err != nil {
		return
	}
	_ = p.conn.SetWriteDeadline(time.Now().Add(ProbeInterval))
	// The send time is taken last, as ping does, and stored before the
	// write so that a fast reply finds it.
	now := time.Now()
	p.mu.Lock()
	p.sent++
	p.pending[seq] = now
	if p.first.IsZero() {
		p.first = now
	}
	p.last = now
	p.mu.Unlock()
	_, _ = p.conn.WriteTo(b, p.dst)
}

// probeGap is the wait before the next probe: ProbeInterval ± 25 %, at
// random, so that the probes cannot lock onto a periodic sender (the data
// streams' pacing runs in the same process, on the same timers) and always
// see the queue in the same phase.
func probeGap() time.Duration {
	return ProbeInterval*3/4 + rand.N(ProbeInterval/2+1)
}

// phase sends a probe every probeGap (ProbeInterval on average), the first at once, until count
// probes were sent (count <= 0: no limit) or stop is closed or ctx ends.
// Then it waits for the outstanding replies (at most ProbeTimeout after
// the last probe) and returns the phase's statistics.
func (p *prober) phase(ctx context.Context, count int, stop <-chan struct{}) RTTStats {
	p.mu.Lock()
	p.sent, p.rtts = 0, nil
	p.first, p.last = time.Time{}, time.Time{}
	clear(p.pending)
	p.mu.Unlock()
	tm := time.NewTimer(0)
	defer tm.Stop()
	<-tm.C
	for {
		p.send()
		if count > 0 && p.sentCount() >= count || p.sentCount() >= maxLoadedProbes {
			break
		}
		tm.Reset(probeGap())
		select {
		case <-tm.C:
			continue
		case <-stop:
		case <-ctx.Done():
		}
		break
	}
	p.await(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	st := summarize(p.sent, p.rtts)
	st.First, st.Last = p.first, p.last
	return st
}

func (p *prober) sentCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent
}

// await returns when every probe has its reply or timed out.
func (p *prober) await(ctx context.Context) {
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	for {
		p.mu.Lock()
		var last time.Time
		for _, t := range p.pending {
			if t.After(last) {
				last = t
			}
		}
		p.mu.Unlock()
		if last.IsZero() || time.Since(last) > ProbeTimeout {
			return
		}
		select {
		case <-poll.C:
		case <-ctx.Done():
			return
		}
	}
}

func (p *prober) close() {
	close(p.done)
	_ = p.conn.Close()
	p.readers.Wait()
}

// latencyRun is the probe of one client test: the idle phase runs before
// the data phase, the loaded phase alongside it.
type latencyRun struct {
	lat    *Latency
	p      *prober
	ctx    context.Context
	cancel context.CancelFunc // abort: stop without waiting for replies
	stop   chan struct{}
	loaded chan RTTStats
	once   sync.Once
}

// startLatency opens the probe to ip and runs the idle phase. Without an
// ICMP socket it returns a run whose Latency says why.
func startLatency(ctx context.Context, ip net.IP, bind net.IP) *latencyRun {
	ctx, cancel := context.WithCancel(ctx)
	lr := &latencyRun{lat: &Latency{Target: ip.String()}, ctx: ctx, cancel: cancel, stop: make(chan struct{})}
	p, err := newProber(ip, bind)
	if err != nil {
		lr.lat.Unavailable = err.Error()
		return lr
	}
	lr.p = p
	lr.lat.Method = p.method
	lr.lat.Idle = p.phase(lr.ctx, IdleProbes, nil)
	return lr
}

// startLoaded starts the loaded phase after delay (the omit period).
func (lr *latencyRun) startLoaded(delay time.Duration) {
	if lr == nil || lr.p == nil || lr.loaded != nil {
		return
	}
	ctx := lr.ctx
	lr.loaded = make(chan RTTStats, 1)
	go func() {
		if delay > 0 {
			tm := time.NewTimer(delay)
			defer tm.Stop()
			select {
			case <-tm.C:
			case <-lr.stop:
				lr.loaded <- RTTStats{}
				return
			case <-ctx.Done():
				lr.loaded <- RTTStats{}
				return
			}
		}
		lr.loaded <- lr.p.phase(ctx, 0, lr.stop)
	}()
}

// stopLoaded ends the loaded phase: no probe is sent after it.
func (lr *latencyRun) stopLoaded() {
	if lr != nil {
		lr.once.Do(func() { close(lr.stop) })
	}
}

// abort ends the probe at once, without waiting for replies: the test
// failed and nobody will read the figures.
func (lr *latencyRun) abort() {
	if lr != nil {
		lr.cancel()
		lr.finish()
	}
}

// finish waits for the loaded phase's last replies, closes the socket and
// returns the result. It runs on the test's goroutine only.
func (lr *latencyRun) finish() *Latency {
	if lr == nil {
		return nil
	}
	defer lr.cancel()
	lr.stopLoaded()
	if lr.loaded != nil {
		lr.lat.Loaded = <-lr.loaded
		lr.loaded = nil // finish may run twice: result, then cleanup
	}
	if lr.p != nil {
		lr.p.close()
		lr.p = nil
	}
	return lr.lat
}
