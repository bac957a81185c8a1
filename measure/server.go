package measure

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Server defaults, used when the matching field is zero.
const (
	DefaultMaxTests          = 1
	DefaultMaxParallel       = MaxParallel
	DefaultMaxDuration       = time.Hour
	DefaultIdleTimeout       = 10 * time.Second
	DefaultTimeSkewThreshold = 10 * time.Second
)

// Server is an iperf3-compatible server: stock iperf3 clients (3.9 … 3.21)
// use it as they use `iperf3 -s`. Unlike iperf3 it can run several tests at
// once on one port (streams find their test by cookie), never stays busy
// after a client dies, enforces limits, and can be locked down.
//
// The zero value serves one test at a time with iperf3's defaults. Fields
// must not change while Serve runs.
type Server struct {
	// MaxTests is how many tests may run at once; 0 means 1, as iperf3. A
	// client beyond the limit gets iperf3's busy answer (ACCESS_DENIED) at
	// once, and stock clients print "the server is busy running a test".
	MaxTests int

	// MaxParallel caps the streams a test may open per direction (-P);
	// 0 means 128, iperf3's own cap. Refused with IENUMSTREAMS.
	MaxParallel int

	// MaxDuration caps -t plus -O. 0 means DefaultMaxDuration (1 hour); a
	// negative value removes the limit. Tests longer than this are refused
	// with IEDURATION; tests ended by -n/-k are stopped with IEDURATION when
	// they run past it.
	MaxDuration time.Duration

	// MaxBitrate caps the total bitrate of a test in bits/s, both directions
	// together; 0 means no limit. A test that asks for more (-b × -P, twice
	// for --bidir) is refused with IETOTALRATE; a test that asks for no limit
	// is served with this server's own sending paced under the cap, and is
	// stopped with IETOTALRATE when the measured rate goes over it (as
	// iperf3's --server-bitrate-limit does).
	MaxBitrate int64

	// MaxBitrateAveraging is the period over which a test's measured rate
	// is compared with MaxBitrate (iperf3's --server-bitrate-limit
	// RATE/SECONDS): the last this-long. 0 means the whole test so far,
	// checked from 2 s on.
	MaxBitrateAveraging time.Duration

	// IdleTimeout bounds every phase in which the server waits for the
	// client: cookie, parameters, stream creation, results, and any period
	// of the data phase without data. 0 means 10 s; negative disables it
	// (not recommended on an exposed server).
	IdleTimeout time.Duration

	// MaxPendingPerSource caps the connections from one source (an IPv4
	// address or an IPv6 /64) that have not sent their cookie yet; 0 means
	// DefaultMaxPendingPerSource (16). Beyond it the source's oldest such
	// connection is closed, so a flood from one source never locks others
	// out (see server_admission.go). All sources together are capped at 256.
	MaxPendingPerSource int

	// CookieTimeout is how long a new connection may take to send its
	// cookie; 0 means DefaultCookieTimeout (3 s). It is never longer than
	// IdleTimeout.
	CookieTimeout time.Duration

	// Allow lists the client networks that may connect; empty allows all.
	// Other clients are refused before anything is read from them.
	Allow []netip.Prefix

	// RSAPrivateKey (PEM, PKCS#1 or PKCS#8) and AuthorizedUsers turn on
	// iperf3's authentication: both must be set. Tokens from clients using
	// OAEP (iperf3 3.17+) and PKCS#1 v1.5 padding are both accepted.
	RSAPrivateKey []byte
	// AuthorizedUsers is iperf3's users file, parsed by ParseAuthorizedUsers.
	AuthorizedUsers AuthorizedUsers
	// TimeSkewThreshold is how far a token's timestamp may be from this
	// host's clock; 0 means 10 s, as iperf3. A token is also accepted only
	// once within that window.
	TimeSkewThreshold time.Duration

	// OneOff makes Serve return nil after the first test, as iperf3 -1.
	// Refused clients (busy, not allowed, failed authentication) do not count.
	OneOff bool

	// Logger receives the server's log; nil keeps the server silent.
	Logger *slog.Logger

	// OnResult is called once for every test served or refused (see
	// ServedTest), from the goroutine that handled it. It must not block
	// for long. Connections that never send a cookie are not tests and are
	// not reported.
	OnResult func(ServedTest)

	// OnTestStart and OnInterval follow every test while it runs, for
	// reports printed live as iperf3's server prints them: OnTestStart
	// when its data phase starts (Result holds the addresses and streams,
	// no figures), OnInterval at the end of every Interval (Result holds
	// only that interval, this server's view). They are called in order
	// from one goroutine per test, never from the data path, and all
	// before that test's OnResult; a slow hook delays later reports, not
	// the measurement.
	OnTestStart func(ServedTest)
	OnInterval  func(ServedTest)

	// Interval is the period of the server's interval samples (iperf3
	// -s -i): the intervals of OnInterval and of --get-server-output.
	// 0 means 1 s; negative turns them off.
	Interval time.Duration

	initOnce sync.Once
	initErr  error
	authKey  *serverAuth

	mu        sync.Mutex
	tests     map[string]*serverTest // by cookie: tests holding a slot
	running   int                    // slots taken
	awaiting  int                    // tests waiting for their TCP streams
	ending    int                    // tests that sent their results and wait for IPERF_DONE
	freed     chan struct{}          // closed and replaced whenever a slot comes free
	admit     *admission             // connections that have not sent their cookie
	shed      int                    // connections shed since shedLog
	shedLog   time.Time              // when shedding was last logged
	listeners map[*serveRun]struct{}

	acceptSeq atomic.Uint64
	quit      chan struct{} // closed by Shutdown/Close: stop accepting
	quitOnce  sync.Once
	kill      chan struct{} // closed by Close or an expired Shutdown: end running tests
	killOnce  sync.Once
	handlers  sync.WaitGroup
}

// ServedTest is the record of one test the server served or refused, handed
// to Server.OnResult (for example to write one line-protocol point per test).
type ServedTest struct {
	Client netip.AddrPort // the client's control connection
	Local  netip.AddrPort // this server's end of it
	Cookie string         // empty when refused before the cookie was read
	Start  time.Time      // when the control connection was accepted
	End    time.Time      // when the test ended or was refused
	// Test is the test as the client asked for it (Host is empty); zero
	// when the test was refused before its parameters were read.
	Test Test
	// Result is what was measured, with this server as the remote end:
	// Directions are relative to the client (Forward = client sends).
	// CPULocal is this server's CPU use, CPURemote the client's. It is nil
	// when the data phase did not run to the results exchange.
	Result *Result
	Code   ResultCode // CodeSuccess, or why the test failed or was refused
	Err    error      // nil on success
}

// init applies defaults and parses the key once.
func (s *Server) init() error {
	s.initOnce.Do(func() {
		s.tests = make(map[string]*serverTest)
		s.freed = make(chan struct{})
		s.listeners = make(map[*serveRun]struct{})
		s.quit = make(chan struct{})
		s.kill = make(chan struct{})
		s.admit = newAdmission(maxPendingConns, s.maxPendingPerSource())
		if len(s.RSAPrivateKey) > 0 || s.AuthorizedUsers != nil {
			a, err := newServerAuth(s.RSAPrivateKey, s.AuthorizedUsers, s.skew())
			if err != nil {
				s.initErr = err
				return
			}
			s.authKey = a
		}
		if s.MaxTests < 0 || s.MaxParallel < 0 || s.MaxBitrate < 0 || s.MaxPendingPerSource < 0 {
			s.initErr = errors.New("measure: server: MaxTests, MaxParallel, MaxBitrate and MaxPendingPerSource must not be negative")
		}
	})
	return s.initErr
}

// orDefault is v, or def when v is zero; with orOff a negative v means
// "off" and reads as 0, otherwise it also gets def.
func orDefault[T int | time.Duration](v, def T, orOff bool) T {
	switch {
	case v == 0 || (v < 0 && !orOff):
		return def
	case v < 0:
		return 0
	}
	return v
}

func (s *Server) interval() time.Duration {
	return orDefault(s.Interval, DefaultInterval, true)
}

func (s *Server) maxTests() int    { return orDefault(s.MaxTests, DefaultMaxTests, false) }
func (s *Server) maxParallel() int { return orDefault(s.MaxParallel, DefaultMaxParallel, false) }
func (s *Server) maxPendingPerSource() int {
	return min(orDefault(s.MaxPendingPerSource, DefaultMaxPendingPerSource, false), maxPendingConns)
}

// cookieDeadline bounds the wait for a new connection's cookie.
func (s *Server) cookieDeadline() time.Time {
	d := orDefault(s.CookieTimeout, DefaultCookieTimeout, false)
	if idle := s.idle(); idle > 0 {
		d = min(d, idle)
	}
	return time.Now().Add(d)
}

// skew is the auth time window.
func (s *Server) skew() time.Duration {
	return orDefault(s.TimeSkewThreshold, DefaultTimeSkewThreshold, false)
}

// maxDuration returns the cap on -t + -O, or 0 for none.
func (s *Server) maxDuration() time.Duration {
	return orDefault(s.MaxDuration, DefaultMaxDuration, true)
}

// idle returns the idle timeout, or 0 when disabled.
func (s *Server) idle() time.Duration { return orDefault(s.IdleTimeout, DefaultIdleTimeout, true) }

func (s *Server) deadline() time.Time {
	if d := s.idle(); d > 0 {
		return time.Now().Add(d)
	}
	return time.Time{}
}

func (s *Server) log() *slog.Logger {
	if s.Logger == nil {
		return discardLogger
	}
	return s.Logger
}

var discardLogger = slog.New(slog.DiscardHandler)

// serveRun is one Serve call: a listener and the UDP socket that shares its
// port.
type serveRun struct {
	srv   *Server
	ln    net.Listener
	laddr *net.TCPAddr // nil when the listener is not TCP (no UDP tests then)
	udp   *udpDispatcher

	oneOffOnce sync.Once
}

// Serve accepts iperf3 clients on ln until ctx is cancelled or Shutdown or
// Close is called, and then returns ErrServerClosed. Cancelling ctx ends
// running tests at once: their clients get SERVER_TERMINATE ("the server has
// terminated"). Serve closes ln. With OneOff it returns nil after the first
// test. UDP tests use a UDP socket on the listener's address and port.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if err := s.init(); err != nil {
		ln.Close()
		return err
	}
	run := &serveRun{srv: s, ln: ln}
	if ta, ok := ln.Addr().(*net.TCPAddr); ok {
		run.laddr = ta
		run.udp = newUDPDispatcher(s, ta)
	}
	s.mu.Lock()
	select {
	case <-s.quit:
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	default:
	}
	s.listeners[run] = struct{}{}
	s.mu.Unlock()

	// Tests end when ctx is cancelled or the server is killed; the cause
	// tells them to send SERVER_TERMINATE.
	testCtx, cancelTests := context.WithCancelCause(context.WithoutCancel(ctx))
	stopKill := afterClose(s.kill, func() { cancelTests(ErrServerEnded) })
	stopCtx := context.AfterFunc(ctx, func() { cancelTests(ErrServerEnded); ln.Close() })
	oneOffDone := make(chan struct{})

	err := run.acceptLoop(ctx, testCtx, oneOffDone)

	stopCtx()
	ln.Close()
	s.mu.Lock()
	delete(s.listeners, run)
	s.mu.Unlock()
	if ctx.Err() != nil {
		cancelTests(ErrServerEnded)
	}
	s.handlers.Wait()
	stopKill()
	cancelTests(nil)
	run.udp.close()
	if err == nil {
		select {
		case <-oneOffDone:
			return nil
		default:
		}
		return ErrServerClosed
	}
	return err
}

// afterClose runs f when ch is closed, until the returned stop is called.
func afterClose(ch <-chan struct{}, f func()) (stop func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-ch:
			f()
		case <-done:
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done) }) }
}

// acceptLoop returns nil when accepting should stop normally (ctx, Shutdown,
// Close, OneOff) and the listener's error otherwise.
func (r *serveRun) acceptLoop(ctx, testCtx context.Context, oneOffDone chan struct{}) error {
	s := r.srv
	var backoff time.Duration
	for {
		conn, err := r.ln.Accept()
		if err != nil {
			if ctx.Err() != nil || s.stopping() || isClosedOneOff(oneOffDone) {
				return nil
			}
			if isTemporaryAccept(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log().Warn("accept failed; retrying", "err", err, "backoff", backoff)
				t := time.NewTimer(backoff)
				select {
				case <-t.C:
				case <-ctx.Done():
				case <-s.quit:
				}
				t.Stop()
				continue
			}
			return err
		}
		backoff = 0
		seq := s.acceptSeq.Add(1)
		r.dispatch(testCtx, conn, seq, oneOffDone)
	}
}

func isClosedOneOff(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// stopping reports whether Shutdown or Close was called.
func (s *Server) stopping() bool {
	select {
	case <-s.quit:
		return true
	default:
		return false
	}
}

// isTemporaryAccept reports accept errors worth retrying: descriptor or
// memory exhaustion and connections aborted before they were accepted.
func isTemporaryAccept(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.EINTR, syscall.EAGAIN, syscall.EPROTO} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Shutdown stops accepting new tests and waits for the running ones to
// finish; their data streams still connect through the listeners, which
// close when the last test ends (then Serve returns ErrServerClosed). New
// clients meanwhile get the busy answer. When ctx ends first, the remaining
// tests are ended as by Close and Shutdown returns ctx.Err() once they are
// gone.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.init(); err != nil {
		return err
	}
	s.stopAccepting()
	done := make(chan struct{})
	go func() { s.handlers.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.killOnce.Do(func() { close(s.kill) })
		<-done
		return ctx.Err()
	}
}

// Close closes the listeners and ends running tests at once: their clients
// get SERVER_TERMINATE. It returns when every test has ended.
func (s *Server) Close() error {
	if err := s.init(); err != nil {
		return err
	}
	s.stopAccepting()
	s.mu.Lock()
	s.closeListenersLocked()
	s.mu.Unlock()
	s.killOnce.Do(func() { close(s.kill) })
	s.handlers.Wait()
	return nil
}

// stopAccepting refuses new tests from now on. The listeners stay open while
// tests run, for their data streams, and close with the last test.
func (s *Server) stopAccepting() {
	s.quitOnce.Do(func() { close(s.quit) })
	s.mu.Lock()
	if s.running == 0 {
		s.closeListenersLocked()
	}
	s.mu.Unlock()
}

func (s *Server) closeListenersLocked() {
	for r := range s.listeners {
		r.ln.Close()
	}
}

// Active returns the number of tests running now (each holding a slot).
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

func addrPortOf(a net.Addr) netip.AddrPort {
	switch v := a.(type) {
	case *net.TCPAddr:
		return unmapAddrPort(v.AddrPort())
	case *net.UDPAddr:
		return unmapAddrPort(v.AddrPort())
	}
	if a == nil {
		return netip.AddrPort{}
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return unmapAddrPort(ap)
}

// unmapAddrPort turns ::ffff:a.b.c.d (IPv4 on a dual-stack socket) into a.b.c.d.
func unmapAddrPort(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// allowed reports whether addr may connect.
func (s *Server) allowed(addr netip.Addr) bool {
	if len(s.Allow) == 0 {
		return true
	}
	addr = addr.Unmap()
	for _, p := range s.Allow {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func (s *Server) report(st ServedTest) {
	if st.End.IsZero() {
		st.End = time.Now()
	}
	if st.Err != nil && st.Code == CodeSuccess {
		st.Code = Classify(st.Err)
	}
	if s.OnResult != nil {
		s.OnResult(st)
	}
}
