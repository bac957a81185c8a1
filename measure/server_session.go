package measure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
)

// serverTest is one test from its control connection's cookie to its end:
// the server side of iperf3's control state machine.
type serverTest struct {
	sr     *serveRun
	srv    *Server
	ctrl   net.Conn
	cookie string
	start  time.Time
	client netip.AddrPort
	local  netip.AddrPort

	mu      sync.Mutex
	want    int                 // TCP streams still accepted by addTCPStream
	tcpCh   chan acceptedStream // capacity: every stream of the test
	streams []net.Conn          // every data connection, closed at the end
	ordered []net.Conn          // the data connections in stream-id order
	mptcp   bool                // they run over MPTCP (read while open)

	ending bool // results sent, waiting for IPERF_DONE (guarded by srv.mu)
}

type acceptedStream struct {
	conn net.Conn
	seq  uint64 // accept order: the client's connect order
}

// ctrlEvent is one state byte read from the control connection, or the
// error that ended reading.
type ctrlEvent struct {
	state iperf3wire.State
	err   error
}

// Grace added to a test's own length before the server gives up on it.
const serverGrace = DefaultGrace

func newServerTest(r *serveRun, conn net.Conn, cookie string, start time.Time) *serverTest {
	return &serverTest{
		sr: r, srv: r.srv, ctrl: conn, cookie: cookie, start: start,
		client: addrPortOf(conn.RemoteAddr()), local: addrPortOf(conn.LocalAddr()),
	}
}

// addTCPStream hands a data connection with this test's cookie to the test.
// It returns false when the test is not waiting for (more) streams.
func (t *serverTest) addTCPStream(conn net.Conn, seq uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.want <= 0 {
		return false
	}
	t.want--
	t.streams = append(t.streams, conn)
	t.tcpCh <- acceptedStream{conn: conn, seq: seq} // never blocks: cap == streams wanted
	return true
}

// testFailure ends a test: what to tell the client and what to record.
type testFailure struct {
	send  iperf3wire.State // 0: nothing; ServerErrorSt: num/errno follow; ServerTerminate
	num   int32
	errno int32
	err   error // wraps the sentinel that classifies it
}

func (f *testFailure) Error() string { return f.err.Error() }

func failWith(num int32, errno syscall.Errno, code ResultCode, op string, err error) *testFailure {
	return &testFailure{send: iperf3wire.ServerError, num: num, errno: int32(errno), err: newError(code, op, err)}
}

func failSilently(code ResultCode, op string, err error) *testFailure {
	return &testFailure{err: newError(code, op, err)}
}

// run serves the test and returns its record, and finish, which the
// caller runs after releasing the test's slot: it tells a failed client why
// and closes every connection of the test.
func (t *serverTest) run(parent context.Context) (ServedTest, func()) {
	s := t.srv
	st := ServedTest{Client: t.client, Local: t.local, Cookie: t.cookie, Start: t.start}
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	// Cancellation unblocks any read on the control connection.
	stopUnblock := context.AfterFunc(ctx, func() { _ = t.ctrl.SetReadDeadline(time.Unix(1, 0)) })
	defer stopUnblock()

	log := s.log().With("client", t.client)
	res, fail := t.serve(ctx, &st)
	if fail != nil && ctx.Err() != nil && errors.Is(context.Cause(ctx), ErrServerEnded) {
		fail = &testFailure{send: iperf3wire.ServerTerminate, err: newError(CodeServerError, "server", ErrServerEnded)}
	}
	st.End = time.Now()
	if fail == nil {
		st.Result = res
		log.Info("test done", "protocol", string(st.Test.Protocol), "reverse", st.Test.Reverse,
			"bidir", st.Test.Bidir, "streams", st.Test.Parallel, "bits_per_second", res.Headline())
		return st, func() {
			t.closeStreams()
			t.ctrl.Close()
		}
	}
	st.Err = fail.err
	st.Code = Classify(fail.err)
	log.Info("test failed", "err", fail.err, "result", st.Code.String())
	return st, func() {
		// Tell the client before its data streams close under it, so that
		// it reports the server's reason rather than a broken pipe.
		t.tell(fail)
		lingerClose(t.ctrl, time.Second)
		t.closeStreams()
	}
}

// tell sends the failure's message to the client, best effort.
func (t *serverTest) tell(f *testFailure) {
	_ = t.ctrl.SetWriteDeadline(time.Now().Add(time.Second))
	switch f.send {
	case iperf3wire.ServerError:
		_ = iperf3wire.WriteServerError(t.ctrl, f.num, f.errno)
	case iperf3wire.ServerTerminate:
		_ = iperf3wire.WriteState(t.ctrl, iperf3wire.ServerTerminate)
	}
}

// send writes one state byte.
func (t *serverTest) send(s iperf3wire.State) error {
	_ = t.ctrl.SetWriteDeadline(t.writeDeadline())
	return iperf3wire.WriteState(t.ctrl, s)
}

func (t *serverTest) writeDeadline() time.Time {
	if d := t.srv.idle(); d > 0 {
		return time.Now().Add(d)
	}
	return time.Now().Add(DefaultIdleTimeout)
}

func (t *serverTest) closeStreams() {
	t.mu.Lock()
	t.want = 0
	conns := t.streams
	t.streams = nil
	t.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	if t.tcpCh != nil {
		for {
			select {
			case a := <-t.tcpCh:
				a.conn.Close()
			default:
				return
			}
		}
	}
}

// ioFailure classifies an I/O error on the control connection in phase op.
func ioFailure(op string, num int32, err error) *testFailure {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return failWith(num, syscall.ETIMEDOUT, CodeTimeout, op, fmt.Errorf("%w: the client sent nothing for the idle timeout", ErrTimeout))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, net.ErrClosed):
		return failSilently(CodeProtocolError, op, fmt.Errorf("%w: the client closed the control connection", ErrProtocol))
	case errors.Is(err, ErrProtocol):
		return failWith(num, 0, CodeProtocolError, op, err)
	}
	return failSilently(CodeProtocolError, op, fmt.Errorf("%w: %v", ErrProtocol, err))
}

// serve runs the control state machine of iperf3's protocol (iperf_server_api.c).
func (t *serverTest) serve(ctx context.Context, st *ServedTest) (*Result, *testFailure) {
	s := t.srv
	if err := t.send(iperf3wire.ParamExchange); err != nil {
		return nil, ioFailure("control: send PARAM_EXCHANGE", 0, err)
	}
	_ = t.ctrl.SetReadDeadline(s.deadline())
	var raw json.RawMessage
	if err := iperf3wire.ReadJSON(t.ctrl, iperf3wire.MaxParamsJSON, &raw); err != nil {
		return nil, ioFailure("control: read parameters", iperf3wire.IERECVPARAMS, err)
	}
	p, perr := decodeParams(raw)
	if p != nil {
		st.Test = testFromParams(p)
	}
	if s.authKey != nil {
		token := ""
		if p != nil {
			token = p.AuthToken
		}
		user, err := s.authKey.check(token, time.Now())
		if err != nil {
			return nil, failWith(iperf3wire.IEAUTHTEST, 0, CodeAuthFailed, "auth", err)
		}
		s.log().Debug("client authenticated", "client", t.client, "user", user)
	}
	if perr == nil {
		perr = s.checkParams(p)
	}
	if perr != nil {
		return nil, failWith(perr.num, 0, CodeServerError, "parameters", perr)
	}
	if p.UDP && t.sr.udp == nil {
		return nil, failWith(iperf3wire.IEUNIMP, 0, CodeServerError, "parameters", errors.New("UDP needs a TCP listener with an IP address"))
	}

	cfg := streamConfigFromParams(p)
	cfg.Interval = s.interval()
	parallel := int(max(p.Parallel.Int(), 1))
	nRecv, nSend := parallel, 0 // forward: the server receives
	switch {
	case p.Bidirectional:
		nRecv, nSend = parallel, parallel
	case p.Reverse:
		nRecv, nSend = 0, parallel
	}
	n := nRecv + nSend
	if s.MaxBitrate > 0 && cfg.Bitrate == 0 {
		// The client asked for no limit: keep this server's own sending
		// under the cap; the client's sending is checked as it runs.
		cfg.Bitrate = max(s.MaxBitrate/int64(n), 1)
	}

	conns, fail := t.createStreams(ctx, p.UDP, n)
	if fail != nil {
		return nil, fail
	}
	t.ordered = conns
	if t.mptcp = len(conns) > 0 && overMPTCP(conns[0]); t.mptcp {
		s.log().Debug("data streams over MPTCP", "client", t.client)
	}
	streams := make([]*dataStream, n)
	for i, c := range conns {
		id := streamID(i)
		if tc, ok := c.(*net.TCPConn); ok && p.Congestion != "" {
			if err := setCongestion(tc, p.Congestion); err != nil {
				s.log().Warn("TCP congestion control not set", "client", t.client, "congestion", p.Congestion, "err", err)
			}
		}
		streams[i] = newDataStream(id, i >= nRecv, c, cfg)
	}

	if err := t.send(iperf3wire.TestStart); err != nil {
		return nil, ioFailure("control: send TEST_START", 0, err)
	}
	if err := t.send(iperf3wire.TestRunning); err != nil {
		return nil, ioFailure("control: send TEST_RUNNING", 0, err)
	}
	return t.runData(ctx, st, p, cfg, streams)
}

// createStreams sends CREATE_STREAMS and waits for n data connections, in
// the client's order.
func (t *serverTest) createStreams(ctx context.Context, udp bool, n int) ([]net.Conn, *testFailure) {
	s := t.srv
	idle := s.idle()
	phaseCtx := ctx
	if idle > 0 {
		var cancel context.CancelFunc
		phaseCtx, cancel = context.WithTimeout(ctx, idle)
		defer cancel()
	}

	var udpCh chan *net.UDPConn
	if udp {
		w, err := t.sr.udp.register(phaseCtx, t.client.Addr(), n)
		if err != nil {
			if ctx.Err() == nil && phaseCtx.Err() != nil {
				return nil, failWith(ieStreamListen, syscall.ETIMEDOUT, CodeTimeout, "streams", fmt.Errorf("%w: another test from this address held the UDP port", ErrTimeout))
			}
			return nil, failWith(ieStreamListen, 0, CodeServerError, "streams", err)
		}
		defer t.sr.udp.unregister(w)
		udpCh = w.ch
	} else {
		t.mu.Lock()
		t.want = n
		t.tcpCh = make(chan acceptedStream, n)
		t.mu.Unlock()
		s.mu.Lock()
		s.awaiting++
		s.mu.Unlock()
		defer func() {
			t.mu.Lock()
			t.want = 0
			t.mu.Unlock()
			s.mu.Lock()
			s.awaiting--
			s.mu.Unlock()
		}()
	}
	if err := t.send(iperf3wire.CreateStreams); err != nil {
		return nil, ioFailure("control: send CREATE_STREAMS", 0, err)
	}

	// The client sends nothing on the control connection now; anything it
	// does send (or its closing) ends the test.
	ev := make(chan ctrlEvent, 1)
	_ = t.ctrl.SetReadDeadline(time.Time{}) // the phase timer bounds this wait
	if ctx.Err() != nil {
		return nil, failSilently(CodeServerError, "streams", context.Cause(ctx))
	}
	go t.readOneState(ev)
	readerPending := true
	defer func() {
		if readerPending { // unblock and collect the reader
			_ = t.ctrl.SetReadDeadline(time.Unix(1, 0))
			<-ev
		}
	}()

	var tcp []acceptedStream
	conns := make([]net.Conn, 0, n)
	for len(conns)+len(tcp) < n {
		select {
		case a := <-t.tcpCh:
			tcp = append(tcp, a)
		case c := <-udpCh:
			t.mu.Lock()
			t.streams = append(t.streams, c)
			t.mu.Unlock()
			conns = append(conns, c)
		case e := <-ev:
			readerPending = false
			return nil, t.unexpected("streams", e)
		case <-phaseCtx.Done():
			if ctx.Err() != nil {
				return nil, failSilently(CodeServerError, "streams", context.Cause(ctx))
			}
			return nil, failWith(iperf3wire.IESTREAMACCEPT, syscall.ETIMEDOUT, CodeTimeout, "streams",
				fmt.Errorf("%w: %d of %d data streams connected within the idle timeout", ErrTimeout, len(conns)+len(tcp), n))
		}
	}
	// The control reader must end before the data phase starts its own.
	readerPending = false
	_ = t.ctrl.SetReadDeadline(time.Unix(1, 0))
	if e := <-ev; e.err == nil {
		return nil, t.unexpected("streams", e)
	}
	_ = t.ctrl.SetReadDeadline(time.Time{})
	sort.Slice(tcp, func(i, j int) bool { return tcp[i].seq < tcp[j].seq })
	for _, a := range tcp {
		conns = append(conns, a.conn)
	}
	return conns, nil
}

// readOneState reads one state byte and delivers it (or the error).
func (t *serverTest) readOneState(ev chan<- ctrlEvent) {
	st, err := iperf3wire.ReadState(t.ctrl)
	ev <- ctrlEvent{state: st, err: err} // cap 1, one send: never blocks
}

// unexpected turns a control message or error where none was expected
// into a failure.
func (t *serverTest) unexpected(phase string, e ctrlEvent) *testFailure {
	switch {
	case e.err != nil:
		return ioFailure(phase+": control", 0, e.err)
	case e.state == iperf3wire.ClientTerminate:
		return failSilently(CodeProtocolError, phase, ErrClientAborted)
	}
	return failWith(iperf3wire.IEMESSAGE, 0, CodeProtocolError, phase, fmt.Errorf("%w: unexpected control message %s", ErrProtocol, e.state))
}

// runData runs the data phase until the client's TEST_END, then exchanges
// results.
func (t *serverTest) runData(ctx context.Context, st *ServedTest, p *iperf3wire.Params, cfg streamConfig, streams []*dataStream) (*Result, *testFailure) {
	s := t.srv
	// The server gives up on a test that outlives what it asked for.
	var limit time.Duration
	switch {
	case p.Time > 0:
		limit = cfg.Omit + time.Duration(float64(p.Time)*float64(time.Second)) + serverGrace
	case s.maxDuration() > 0:
		limit = s.maxDuration() + serverGrace
	}
	dataCtx, cancelData := context.WithCancel(ctx)
	if limit > 0 {
		dataCtx, cancelData = context.WithTimeout(ctx, limit)
	}
	defer cancelData()

	feed := newLiveFeed(s.OnTestStart != nil || s.OnInterval != nil)
	defer feed.close() // after stop: the last interval is out before OnResult
	started := time.Now()
	dp := startDataPhase(dataCtx, t.liveConfig(cfg, *st, feed), streams)
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			dp.Stop()
		}
	}
	defer stop()

	// Control messages: the client is silent until TEST_END.
	ev := make(chan ctrlEvent, 1)
	readerDone, readerQuit := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			st, err := iperf3wire.ReadState(t.ctrl)
			select {
			case ev <- ctrlEvent{state: st, err: err}:
			case <-readerQuit:
				return
			}
			if err != nil || st == iperf3wire.TestEnd || st == iperf3wire.ClientTerminate {
				return
			}
		}
	}()
	defer func() {
		close(readerQuit)
		select {
		case <-readerDone:
		default:
			_ = t.ctrl.SetReadDeadline(time.Unix(1, 0))
			<-readerDone
			_ = t.ctrl.SetReadDeadline(time.Time{})
		}
	}()

	idle := dataIdle(s.idle(), cfg)
	tick := time.Second
	if idle > 0 {
		tick = min(tick, max(idle/4, 10*time.Millisecond))
	}
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	lastBytes, lastProgress := int64(-1), time.Now()
	var window rateWindow // MaxBitrateAveraging
	done := dp.Done()

wait:
	for {
		select {
		case e := <-ev:
			switch {
			case e.err != nil:
				return nil, ioFailure("data phase: control", 0, e.err)
			case e.state == iperf3wire.TestEnd:
				break wait
			case e.state == iperf3wire.TestStart || e.state == iperf3wire.TestRunning:
				// harmless echoes
			default:
				return nil, t.unexpected("data phase", e)
			}
		case <-done:
			done = nil // senders used their -n/-k budget; the client ends the test
		case <-dataCtx.Done():
			if ctx.Err() != nil {
				return nil, failSilently(CodeServerError, "data phase", context.Cause(ctx))
			}
			return nil, failWith(iperf3wire.IEDURATION, 0, CodeTimeout, "data phase",
				fmt.Errorf("%w: the test ran past its length plus %s grace, or past the server's maximum duration", ErrTimeout, serverGrace))
		case now := <-ticker.C:
			b := dp.progress()
			if b != lastBytes {
				lastBytes, lastProgress = b, now
			} else if idle > 0 && now.Sub(lastProgress) >= idle {
				return nil, failWith(iperf3wire.IENOMSG, 0, CodeTimeout, "data phase",
					fmt.Errorf("%w: no data moved for the idle timeout (%s)", ErrTimeout, idle))
			}
			if s.MaxBitrate > 0 {
				rate, ok := window.rate(now, b, started, s.MaxBitrateAveraging)
				if ok {
					if rate > float64(s.MaxBitrate)*1.05 {
						return nil, failWith(iperf3wire.IETOTALRATE, 0, CodeServerError, "data phase",
							fmt.Errorf("measured %.0f bit/s; this server allows up to %d", rate, s.MaxBitrate))
					}
				}
			}
		}
	}

	stop()
	t.closeStreams()
	if err := dp.Err(); err != nil {
		s.log().Debug("data stream error before TEST_END", "client", t.client, "err", err)
	}
	local := dp.Results()
	if local.CongestionUsed == "" {
		local.CongestionUsed = p.CongestionUsed
	}

	if err := t.send(iperf3wire.ExchangeResults); err != nil {
		return nil, ioFailure("control: send EXCHANGE_RESULTS", 0, err)
	}
	_ = t.ctrl.SetReadDeadline(s.deadline())
	var rawResults json.RawMessage
	if err := iperf3wire.ReadJSON(t.ctrl, maxClientResultsJSON, &rawResults); err != nil {
		return nil, ioFailure("control: read results", iperf3wire.IERECVRESULTS, err)
	}
	var remote iperf3wire.Results
	if err := json.Unmarshal(rawResults, &remote); err != nil {
		return nil, failWith(iperf3wire.IERECVRESULTS, 0, CodeProtocolError, "control: read results", fmt.Errorf("%w: results JSON: %v", ErrProtocol, err))
	}
	if cfg.Omit > 0 {
		received := map[int64]bool{}
		for _, ds := range streams {
			received[int64(ds.ID)] = !ds.Sender
		}
		fillOmittedPackets(rawResults, &remote, local, received)
	}
	res := &Result{
		Test:                 st.Test,
		Start:                started,
		LocalAddr:            t.local.String(),
		RemoteAddr:           t.client.String(),
		Cookie:               t.cookie,
		Directions:           buildDirections(cfg, false, dp, local, &remote),
		CPULocal:             CPU{TotalPercent: float64(local.CPUUtilTotal), UserPercent: float64(local.CPUUtilUser), SystemPercent: float64(local.CPUUtilSystem)},
		CPURemote:            CPU{TotalPercent: float64(remote.CPUUtilTotal), UserPercent: float64(remote.CPUUtilUser), SystemPercent: float64(remote.CPUUtilSystem)},
		SenderHasRetransmits: local.SenderHasRetransmits > 0 || remote.SenderHasRetransmits > 0,
		CongestionUsed:       local.CongestionUsed,
		MPTCP:                t.mptcp,
	}
	if p.GetServerOutput != 0 {
		if p.JSONOutput != 0 {
			local.ServerOutputJSON = serverOutputJSON(t, p, res)
		} else {
			local.ServerOutputText = serverOutputText(t, p, res)
		}
		res.ServerOutputText, res.ServerOutputJSON = local.ServerOutputText, local.ServerOutputJSON
	}
	_ = t.ctrl.SetWriteDeadline(t.writeDeadline())
	if err := iperf3wire.WriteJSON(t.ctrl, local); err != nil {
		return nil, ioFailure("control: send results", 0, err)
	}
	// From DISPLAY_RESULTS on, a client that arrives waits for this slot
	// (endingGrace). Marked before it is sent: once this client can have
	// read it, any other client must find the test ending.
	s.mu.Lock()
	t.ending = true
	s.ending++
	s.mu.Unlock()
	if err := t.send(iperf3wire.DisplayResults); err != nil {
		return nil, ioFailure("control: send DISPLAY_RESULTS", 0, err)
	}
	// IPERF_DONE, or the client just closing, ends the test; it was served.
	_ = t.ctrl.SetReadDeadline(s.deadline())
	if state, err := iperf3wire.ReadState(t.ctrl); err == nil && state != iperf3wire.IperfDone {
		s.log().Debug("unexpected message after DISPLAY_RESULTS", "client", t.client, "state", state)
	}
	return res, nil
}

// liveConfig attaches the server's live hooks to cfg; st is the test as
// known when its data phase starts.
func (t *serverTest) liveConfig(cfg streamConfig, st ServedTest, feed *liveFeed) streamConfig {
	s := t.srv
	live := func(d *dataPhase, dirs []DirectionResult) ServedTest {
		st := st // the hooks run on different goroutines
		st.Result = &Result{
			Test:                 st.Test,
			Start:                d.start,
			LocalAddr:            t.local.String(),
			RemoteAddr:           t.client.String(),
			Cookie:               t.cookie,
			Directions:           dirs,
			SenderHasRetransmits: d.hasRetrans,
		}
		return st
	}
	if on := s.OnTestStart; on != nil {
		cfg.onStart = func(d *dataPhase) {
			st := live(d, d.liveDirections(false))
			feed.send(func() { on(st) })
		}
	}
	if on := s.OnInterval; on != nil {
		cfg.onInterval = func(d *dataPhase, dirs []DirectionResult) {
			st := live(d, dirs)
			feed.send(func() { on(st) })
		}
	}
	return cfg
}

// fillOmittedPackets adapts the results of clients older than iperf3 3.13,
// which do not report how many datagrams they sent during -O: for streams
// this server received, the highest sequence it had seen when the omit
// period ended stands in for it (they differ by what was in flight).
func fillOmittedPackets(raw json.RawMessage, remote *iperf3wire.Results, local *iperf3wire.Results, received map[int64]bool) {
	var probe struct {
		Streams []struct {
			OmittedPackets *json.RawMessage `json:"omitted_packets"`
		} `json:"streams"`
	}
	if json.Unmarshal(raw, &probe) != nil {
		return
	}
	for _, s := range probe.Streams {
		if s.OmittedPackets != nil {
			return // the client reports it
		}
	}
	ours := map[int64]iperf3wire.Number{}
	for _, s := range local.Streams {
		if s.OmittedPackets > 0 && received[s.ID.Int()] {
			ours[s.ID.Int()] = s.OmittedPackets
		}
	}
	for i := range remote.Streams {
		if op, ok := ours[remote.Streams[i].ID.Int()]; ok {
			remote.Streams[i].OmittedPackets = op
		}
	}
}

// minDataIdle is the shortest time without data after which a running test
// is ended: shorter idle timeouts apply to the other phases only, so that a
// scheduling hiccup of either host does not end a healthy test.
const minDataIdle = 2 * time.Second

// dataIdle is how long the data phase may go without moving data: the idle
// timeout, but at least minDataIdle and three blocks' time at the paced
// rate (a slow -b with a large -l sends seldom). 0 disables the check.
func dataIdle(idle time.Duration, cfg streamConfig) time.Duration {
	if idle <= 0 {
		return 0
	}
	idle = max(idle, minDataIdle)
	if cfg.Bitrate > 0 {
		perBlock := time.Duration(float64(cfg.Length) * 8 / float64(cfg.Bitrate) * float64(time.Second))
		idle = max(idle, 3*perBlock)
	}
	return idle
}
