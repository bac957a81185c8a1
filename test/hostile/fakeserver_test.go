package hostile

// A scripted fake iperf3 server. A script is plain Go code that runs the
// normal protocol up to some phase (s.upTo) and then misbehaves. Every I/O
// helper aborts the script (via panic, recovered in the session goroutine)
// on the first error, so scripts stay linear; closing the server closes
// every socket, which unblocks any helper.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
)

// phase is a step of the normal server-side sequence, in order.
type phase int

const (
	phCookie          phase = iota // read the client's cookie
	phParamExchange                // PARAM_EXCHANGE, read parameters
	phCreateStreams                // CREATE_STREAMS, accept data streams
	phTestStart                    // TEST_START, TEST_RUNNING, start data
	phTestEnd                      // wait for the client's TEST_END, stop data
	phExchangeResults              // EXCHANGE_RESULTS, swap results
	phDisplayResults               // DISPLAY_RESULTS, read IPERF_DONE
	phDone
)

var phaseNames = [...]string{"cookie", "param_exchange", "create_streams", "test_start",
	"test_end", "exchange_results", "display_results", "done"}

func (p phase) String() string { return phaseNames[p] }

// errAbort ends a script: the peer went away or the server is closing.
type errAbort struct{ err error }

type fakeServer struct {
	t      testing.TB
	ln     *net.TCPListener
	udp    *net.UDPConn
	port   int
	script func(s *session)

	mu     sync.Mutex
	conns  []io.Closer
	closed bool

	data     chan net.Conn // TCP connections after the control connection
	sessions atomic.Int32
	wg       sync.WaitGroup
	quit     chan struct{}
}

// startFake listens on a free loopback port (TCP and UDP on the same port,
// as iperf3) and runs script on the first control connection; later
// connections are data streams. It is closed when the test ends.
func startFake(t testing.TB, script func(s *session)) *fakeServer {
	t.Helper()
	f := &fakeServer{t: t, script: script, data: make(chan net.Conn, 256), quit: make(chan struct{})}
	var err error
	for range 20 {
		f.ln, err = net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
		f.port = f.ln.Addr().(*net.TCPAddr).Port
		f.udp, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: f.port})
		if err == nil {
			break
		}
		f.ln.Close()
	}
	if err != nil {
		t.Fatalf("no port free for both TCP and UDP: %v", err)
	}
	f.track(f.ln)
	f.track(f.udp)
	f.wg.Add(1)
	go f.acceptLoop()
	t.Cleanup(f.Close)
	return f
}

// track registers a socket to be closed by Close; it closes c at once if
// the server is already closed.
func (f *fakeServer) track(c io.Closer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		c.Close()
		return
	}
	f.conns = append(f.conns, c)
}

// Close stops the server and waits for every goroutine it started.
func (f *fakeServer) Close() {
	f.mu.Lock()
	if !f.closed {
		f.closed = true
		close(f.quit)
		for _, c := range f.conns {
			c.Close()
		}
	}
	f.mu.Unlock()
	f.wg.Wait()
}

func (f *fakeServer) acceptLoop() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.track(c)
		if f.sessions.Add(1) == 1 {
			f.wg.Add(1)
			go f.runSession(c)
			continue
		}
		select {
		case f.data <- c:
		default:
			c.Close() // nobody asked for that many streams
		}
	}
}

func (f *fakeServer) runSession(c net.Conn) {
	defer f.wg.Done()
	s := &session{f: f, ctrl: c, stopData: make(chan struct{})}
	defer func() {
		if r := recover(); r != nil {
			if a, ok := r.(errAbort); ok {
				f.t.Logf("fake server: script ended: %v", a.err)
			} else {
				panic(r)
			}
		}
		s.stopDataPhase()
		c.Close()
	}()
	f.script(s)
}

// session is one control connection's script state.
type session struct {
	f      *fakeServer
	ctrl   net.Conn
	done   phase // phases completed so far
	cookie string
	params iperf3wire.Params

	tcp     []net.Conn     // TCP data streams in id order
	udpPeer []*net.UDPAddr // UDP data streams' client addresses

	stopData  chan struct{}
	stopOnce  sync.Once
	dataWG    sync.WaitGroup
	bytes     []atomic.Int64 // per stream, sent or received
	packets   []atomic.Int64
	dataStart time.Time
	dataEnd   time.Time
}

func (s *session) abort(err error) {
	panic(errAbort{err})
}

func (s *session) check(what string, err error) {
	if err != nil {
		s.abort(fmt.Errorf("%s: %w", what, err))
	}
}

// send writes raw bytes on the control connection.
func (s *session) send(b []byte) {
	_, err := s.ctrl.Write(b)
	s.check("write", err)
}

func (s *session) state(st iperf3wire.State) { s.send([]byte{byte(st)}) }

// frame sends payload behind a 32-bit length that the caller chooses.
func (s *session) frame(length uint32, payload []byte) {
	b := make([]byte, 4, 4+len(payload))
	binary.BigEndian.PutUint32(b, length)
	s.send(append(b, payload...))
}

// drip sends b one byte at a time, every gap, until done or aborted.
func (s *session) drip(b []byte, gap time.Duration) {
	for i := range b {
		s.send(b[i : i+1])
		select {
		case <-time.After(gap):
		case <-s.f.quit:
			s.abort(errors.New("closed while dripping"))
		}
	}
}

// hold keeps the connection open, reading and discarding, until the client
// closes it or the server is closed.
func (s *session) hold() {
	_, err := io.Copy(io.Discard, s.ctrl)
	s.abort(fmt.Errorf("hold ended: %v", err))
}

func (s *session) readState() iperf3wire.State {
	st, err := iperf3wire.ReadState(s.ctrl)
	s.check("read state", err)
	return st
}

func (s *session) expectState(want iperf3wire.State) {
	if got := s.readState(); got != want {
		s.abort(fmt.Errorf("client sent %v, want %v", got, want))
	}
}

// upTo runs the normal server sequence for every phase before p.
func (s *session) upTo(p phase) {
	for s.done < p {
		s.step(s.done)
		s.done++
	}
}

// all runs the normal sequence to the end.
func (s *session) all() { s.upTo(phDone) }

func (s *session) step(p phase) {
	switch p {
	case phCookie:
		c, err := iperf3wire.ReadCookie(s.ctrl)
		s.check("read cookie", err)
		s.cookie = c
	case phParamExchange:
		s.state(iperf3wire.ParamExchange)
		s.check("read params", iperf3wire.ReadJSON(s.ctrl, iperf3wire.MaxParamsJSON, &s.params))
	case phCreateStreams:
		s.state(iperf3wire.CreateStreams)
		s.acceptStreams()
	case phTestStart:
		s.state(iperf3wire.TestStart)
		s.state(iperf3wire.TestRunning)
		s.startDataPhase()
	case phTestEnd:
		s.expectState(iperf3wire.TestEnd)
		s.stopDataPhase()
		// As iperf3's server: close the streams before EXCHANGE_RESULTS. A
		// 3.12 client in reverse mode reads whole blocks in blocking mode
		// after TEST_END and hangs on a partial block unless the stream
		// closes.
		for _, c := range s.tcp {
			c.Close()
		}
	case phExchangeResults:
		s.state(iperf3wire.ExchangeResults)
		s.readClientResults()
		s.check("send results", iperf3wire.WriteJSON(s.ctrl, s.results()))
	case phDisplayResults:
		s.state(iperf3wire.DisplayResults)
		s.expectState(iperf3wire.IperfDone)
	}
}

func (s *session) readClientResults() iperf3wire.Results {
	var r iperf3wire.Results
	s.check("read client results", iperf3wire.ReadJSON(s.ctrl, iperf3wire.MaxResultsJSON, &r))
	return r
}

func (s *session) nStreams() int {
	n := int(s.params.Parallel.Int())
	if n < 1 {
		n = 1
	}
	if s.params.Bidirectional {
		n *= 2
	}
	return n
}

// acceptStreams takes the client's data streams: TCP connections that
// open with the cookie, or UDP "9876" datagrams answered with "6789".
func (s *session) acceptStreams() {
	n := s.nStreams()
	s.bytes = make([]atomic.Int64, n)
	s.packets = make([]atomic.Int64, n)
	deadline := time.After(10 * time.Second)
	if s.params.UDP {
		buf := make([]byte, 64)
		for len(s.udpPeer) < n {
			s.check("udp deadline", s.f.udp.SetReadDeadline(time.Now().Add(10*time.Second)))
			k, from, err := s.f.udp.ReadFromUDP(buf)
			s.check("udp handshake read", err)
			if k != 4 || binary.BigEndian.Uint32(buf) != iperf3wire.UDPConnectMsg {
				continue // early data from a stream we already have
			}
			s.udpPeer = append(s.udpPeer, from)
			s.udpReply(from, binary.BigEndian.AppendUint32(nil, iperf3wire.UDPConnectReply))
		}
		return
	}
	for len(s.tcp) < n {
		select {
		case c := <-s.f.data:
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			ck, err := iperf3wire.ReadCookie(c)
			s.check("stream cookie", err)
			if ck != s.cookie {
				s.abort(fmt.Errorf("stream cookie %q, want %q", ck, s.cookie))
			}
			_ = c.SetReadDeadline(time.Time{})
			s.tcp = append(s.tcp, c)
		case <-deadline:
			s.abort(fmt.Errorf("only %d of %d streams connected", len(s.tcp), n))
		case <-s.f.quit:
			s.abort(errors.New("closed while accepting streams"))
		}
	}
}

func (s *session) udpReply(to *net.UDPAddr, b []byte) {
	_, err := s.f.udp.WriteToUDP(b, to)
	s.check("udp write", err)
}

// sending reports whether this server sends on stream i.
func (s *session) sending(i int) bool {
	if s.params.Bidirectional {
		return i%2 == 1 // client sends on its first half; keep it simple
	}
	return s.params.Reverse
}

// startDataPhase receives (forward) or sends (reverse) on every stream
// until stopDataPhase.
func (s *session) startDataPhase() {
	s.dataStart = time.Now()
	length := int(s.params.Len.Int())
	if length <= 0 || length > 1<<20 {
		length = 128 << 10
	}
	if s.params.UDP {
		s.dataWG.Add(1)
		go s.udpReceive()
		if s.params.Reverse {
			for i, to := range s.udpPeer {
				s.dataWG.Add(1)
				go s.udpSend(i, to, length)
			}
		}
		return
	}
	for i, c := range s.tcp {
		s.dataWG.Add(1)
		if s.sending(i) {
			go s.tcpSend(i, c, length)
		} else {
			go s.tcpReceive(i, c)
		}
	}
}

func (s *session) stopDataPhase() {
	s.stopOnce.Do(func() {
		close(s.stopData)
		for _, c := range s.tcp {
			_ = c.SetDeadline(time.Now())
		}
		if s.f.udp != nil {
			_ = s.f.udp.SetReadDeadline(time.Now())
		}
		s.dataWG.Wait()
		s.dataEnd = time.Now()
	})
}

func (s *session) stopped() bool {
	select {
	case <-s.stopData:
		return true
	default:
		return false
	}
}

func (s *session) tcpReceive(i int, c net.Conn) {
	defer s.dataWG.Done()
	buf := make([]byte, 128<<10)
	for !s.stopped() {
		n, err := c.Read(buf)
		s.bytes[i].Add(int64(n))
		if err != nil {
			return
		}
	}
}

func (s *session) tcpSend(i int, c net.Conn, length int) {
	defer s.dataWG.Done()
	buf := make([]byte, length)
	for !s.stopped() {
		n, err := c.Write(buf)
		s.bytes[i].Add(int64(n))
		if err != nil {
			return
		}
	}
}

func (s *session) udpReceive() {
	defer s.dataWG.Done()
	buf := make([]byte, 64<<10)
	for !s.stopped() {
		n, from, err := s.f.udp.ReadFromUDP(buf)
		if err != nil {
			return
		}
		for i, p := range s.udpPeer {
			if p.Port == from.Port && p.IP.Equal(from.IP) {
				s.bytes[i].Add(int64(n))
				s.packets[i].Add(1)
			}
		}
	}
}

func (s *session) udpSend(i int, to *net.UDPAddr, length int) {
	defer s.dataWG.Done()
	if length < 16 {
		length = 16
	}
	buf := make([]byte, length)
	c64 := s.params.UDPCounters64.Int() != 0
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for seq := uint64(1); ; seq++ {
		select {
		case <-s.stopData:
			return
		case <-tick.C:
		}
		now := time.Now()
		iperf3wire.PutUDPHeader(buf, iperf3wire.UDPHeader{Sec: uint32(now.Unix()), Usec: uint32(now.Nanosecond() / 1000), Seq: seq}, c64)
		n, err := s.f.udp.WriteToUDP(buf, to)
		if err != nil {
			return
		}
		s.bytes[i].Add(int64(n))
		s.packets[i].Add(1)
	}
}

// results is what a sane server reports for the data it saw.
func (s *session) results() *iperf3wire.Results {
	end := s.dataEnd
	if end.IsZero() {
		end = time.Now()
	}
	secs := end.Sub(s.dataStart).Seconds()
	if s.dataStart.IsZero() {
		secs = 0
	}
	r := &iperf3wire.Results{CPUUtilTotal: 1.5, CPUUtilUser: 0.5, CPUUtilSystem: 1}
	if s.params.Reverse && s.params.TCP {
		r.SenderHasRetransmits = -1
	}
	for i := range s.bytes {
		id := i + 2 // iperf3 numbers streams 1, 3, 4, 5, ...
		if i == 0 {
			id = 1
		}
		r.Streams = append(r.Streams, iperf3wire.StreamResults{
			ID: iperf3wire.Number(id), Bytes: iperf3wire.Number(s.bytes[i].Load()), Retransmits: -1,
			Packets: iperf3wire.Number(s.packets[i].Load()), EndTime: iperf3wire.Number(secs),
		})
	}
	return r
}
