package measure

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
)

// clientVersion is the iperf3 version this client announces.
const clientVersion = "3.17.1"

// Client runs iperf3 tests against a server (stock iperf3 or iperfmon).
// The zero value is ready to use; a Client may run several tests at once.
type Client struct {
	// Logger receives debug output; nil falls back to Test.Logger, and
	// without either the client is silent.
	Logger *slog.Logger
}

// UDP stream handshake: attempts and the wait for each reply.
const (
	udpConnectAttempts = 3
	udpConnectMinWait  = 500 * time.Millisecond
	// udpConnectMaxStray is how many non-reply datagrams (early data in
	// reverse mode) the handshake skips before giving up.
	udpConnectMaxStray = 64
	// terminateWait bounds the courtesy CLIENT_TERMINATE write on abort.
	terminateWait = 200 * time.Millisecond
)

// Run runs one test and returns what it measured. On failure the error is
// an *Error whose Code classifies it (see Classify).
func (c *Client) Run(ctx context.Context, t Test) (*Result, error) {
	t = t.WithDefaults()
	if err := t.Validate(); err != nil {
		return nil, &Error{Code: CodeProtocolError, Op: "test", Err: err}
	}
	log := c.Logger
	if log == nil {
		log = t.Logger
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &run{t: t, log: log}
	if t.Username != "" {
		tok, err := encryptAuthToken(t.Username, t.Password, t.RSAPublicKey, t.UsePKCS1Padding, time.Now())
		if err != nil {
			return nil, &Error{Code: CodeAuthFailed, Op: "auth token", Err: err}
		}
		r.authToken = tok
	}
	if t.MPTCP {
		if err := MPTCPAvailable(); err != nil {
			return nil, &Error{Code: CodeConnectionFailed, Op: "control: connect", Err: err}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	r.ctx = ctx
	res, err := r.run()
	r.cleanup()
	r.feed.close() // every live report is out before Run returns
	if err != nil {
		var me *Error
		if !errors.As(err, &me) {
			err = newError(-1, "", err)
		}
		return nil, err
	}
	return res, nil
}

// run is the state of one test.
type run struct {
	facts     [3]int // socketFacts of the first stream
	t         Test
	log       *slog.Logger
	ctx       context.Context
	authToken string

	ctrl     net.Conn
	deadline time.Time
	cookie   string
	params   iperf3wire.Params
	cfg      streamConfig
	conns    []net.Conn
	streams  []*dataStream
	dp       *dataPhase
	drainWG  sync.WaitGroup
	stopCtrl func() bool
	lat      *latencyRun // nil unless Test.Latency
	feed     *liveFeed   // nil unless Test.OnStart or OnInterval
	mptcp    bool        // the data streams run over MPTCP
}

func (r *run) cleanup() {
	if r.dp != nil {
		r.dp.Stop()
	}
	r.lat.abort() // closes the probe socket when the test failed
	for _, c := range r.conns {
		_ = c.Close()
	}
	if r.ctrl != nil {
		if r.stopCtrl != nil {
			r.stopCtrl()
		}
		_ = r.ctrl.Close()
	}
	r.drainWG.Wait()
}

// fail wraps err with its step and code; a context that ended turns into a
// timeout (deadline) or an abort (cancellation), and the server is told.
func (r *run) fail(code ResultCode, op string, err error) error {
	if ctxErr := r.ctx.Err(); ctxErr != nil {
		r.terminate()
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return &Error{Code: CodeTimeout, Op: op, Err: fmt.Errorf("%w: whole-test deadline of %v reached: %v", ErrTimeout, r.t.Timeout, err)}
		}
		return &Error{Code: CodeTimeout, Op: op, Err: fmt.Errorf("%w: %w", ErrClientAborted, ctxErr)}
	}
	if isDeadline(err) {
		r.terminate()
		return &Error{Code: CodeTimeout, Op: op, Err: fmt.Errorf("%w: %w", ErrTimeout, err)}
	}
	return newError(code, op, err)
}

// terminate sends CLIENT_TERMINATE as a courtesy, bounded in time.
func (r *run) terminate() {
	if r.ctrl == nil {
		return
	}
	_ = r.ctrl.SetWriteDeadline(time.Now().Add(terminateWait))
	_ = iperf3wire.WriteState(r.ctrl, iperf3wire.ClientTerminate)
}

func (r *run) network(proto string) string {
	switch r.t.Family {
	case FamilyIPv4:
		return proto + "4"
	case FamilyIPv6:
		return proto + "6"
	}
	return proto
}

func (r *run) bindIP() (net.IP, error) {
	if r.t.BindAddress == "" {
		return nil, nil
	}
	ip := net.ParseIP(r.t.BindAddress)
	if ip == nil {
		return nil, fmt.Errorf("bind address %q is not an IP address", r.t.BindAddress)
	}
	return ip, nil
}

func (r *run) run() (*Result, error) {
	t := r.t
	bind, err := r.bindIP()
	if err != nil {
		return nil, &Error{Code: CodeConnectionFailed, Op: "control: connect", Err: fmt.Errorf("%w: %v", ErrConnect, err)}
	}
	addr := net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
	d := net.Dialer{Timeout: t.ConnectTimeout, KeepAliveConfig: t.ControlKeepAlive, Control: deviceControl(t.BindDevice)}
	d.SetMultipathTCP(t.MPTCP)
	if bind != nil {
		d.LocalAddr = &net.TCPAddr{IP: bind}
	}
	r.log.Debug("connecting", "server", addr)
	ctrl, err := d.DialContext(r.ctx, r.network("tcp"), addr)
	if err != nil {
		if r.ctx.Err() != nil && !errors.Is(r.ctx.Err(), context.DeadlineExceeded) {
			return nil, r.fail(CodeConnectionFailed, "control: connect", err)
		}
		return nil, &Error{Code: CodeConnectionFailed, Op: "control: connect", Err: fmt.Errorf("%w: %w", ErrConnect, err)}
	}
	r.ctrl = ctrl
	if tc, ok := ctrl.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true) // small control messages, as iperf3
	}
	// The control connection is silent during the test: only the
	// whole-test deadline applies to it. Cancellation unblocks it at once.
	r.deadline, _ = r.ctx.Deadline()
	_ = ctrl.SetDeadline(r.deadline)
	r.stopCtrl = context.AfterFunc(r.ctx, func() { _ = ctrl.SetDeadline(time.Unix(1, 0)) })

	if t.Latency {
		// Idle samples on the quiet path, before the server sees a cookie.
		ip := addrIP(ctrl.RemoteAddr())
		r.lat = startLatency(r.ctx, ip, bind)
		if u := r.lat.lat.Unavailable; u != "" {
			r.log.Debug("latency probe unavailable", "err", u)
		}
	}

	r.cookie = iperf3wire.NewCookie()
	if _, err := ctrl.Write(iperf3wire.CookieBytes(r.cookie)); err != nil {
		return nil, r.fail(CodeConnectionFailed, "control: send cookie", err)
	}
	r.buildParams()

	res := &Result{
		LocalAddr:  ctrl.LocalAddr().String(),
		RemoteAddr: ctrl.RemoteAddr().String(),
		Cookie:     r.cookie,
	}
	first := true
	var want iperf3wire.State = iperf3wire.ParamExchange
	var remote *iperf3wire.Results
	var local *iperf3wire.Results
	for {
		st, err := iperf3wire.ReadState(ctrl)
		if err != nil {
			if first && errors.Is(err, syscall.ECONNRESET) {
				// A busy iperf3 writes 0xff and closes without reading the
				// cookie: the reset can overtake the byte.
				return nil, &Error{Code: CodeServerBusy, Op: "control: read state", Err: fmt.Errorf("%w (connection reset before the first state)", ErrServerBusy)}
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				err = fmt.Errorf("%w: server closed the control connection (waiting for %v)", ErrProtocol, want)
			}
			return nil, r.fail(CodeProtocolError, "control: read state", err)
		}
		r.log.Debug("control state", "state", st)
		wasFirst := first
		first = false
		switch st {
		case iperf3wire.AccessDenied:
			if wasFirst {
				return nil, &Error{Code: CodeServerBusy, Op: "control", Err: ErrServerBusy}
			}
			return nil, &Error{Code: CodeAccessDenied, Op: "control", Err: ErrAccessDenied}
		case iperf3wire.ServerError:
			se, err := readServerError(ctrl)
			if err != nil {
				return nil, r.fail(CodeProtocolError, "control: read SERVER_ERROR", fmt.Errorf("%w: truncated SERVER_ERROR: %w", ErrProtocol, err))
			}
			return nil, newError(-1, "server", se)
		case iperf3wire.ServerTerminate:
			return nil, &Error{Code: CodeServerError, Op: "control", Err: ErrServerEnded}
		}
		if st != want && !(st == iperf3wire.TestRunning && want == iperf3wire.TestStart) {
			return nil, &Error{Code: CodeProtocolError, Op: "control", Err: fmt.Errorf("%w: unexpected state %v while waiting for %v", ErrProtocol, st, want)}
		}
		switch st {
		case iperf3wire.ParamExchange:
			if err := iperf3wire.WriteJSON(ctrl, &r.params); err != nil {
				return nil, r.fail(CodeProtocolError, "control: send parameters", err)
			}
			want = iperf3wire.CreateStreams
		case iperf3wire.CreateStreams:
			if err := r.createStreams(); err != nil {
				return nil, err
			}
			want = iperf3wire.TestStart
		case iperf3wire.TestStart:
			want = iperf3wire.TestRunning
		case iperf3wire.TestRunning:
			if want == iperf3wire.TestStart {
				return nil, &Error{Code: CodeProtocolError, Op: "control", Err: fmt.Errorf("%w: TEST_RUNNING before TEST_START", ErrProtocol)}
			}
			next, err := r.runData()
			if err != nil {
				return nil, err
			}
			res.Start = r.dp.start
			local = r.dp.Results()
			if next != iperf3wire.ExchangeResults {
				// Handle the state read during the test (errors) as usual.
				return nil, r.unexpected(next)
			}
			remote, err = r.exchangeResults(local)
			if err != nil {
				return nil, err
			}
			want = iperf3wire.DisplayResults
		case iperf3wire.ExchangeResults:
			// Reached only through runData.
			return nil, &Error{Code: CodeProtocolError, Op: "control", Err: fmt.Errorf("%w: EXCHANGE_RESULTS out of order", ErrProtocol)}
		case iperf3wire.DisplayResults:
			if err := iperf3wire.WriteState(ctrl, iperf3wire.IperfDone); err != nil {
				r.log.Debug("send IPERF_DONE", "err", err)
			}
			// Anything the server sends after this is ignored (3.21 may
			// send a stale SERVER_ERROR).
			return r.result(res, local, remote), nil
		default:
			return nil, &Error{Code: CodeProtocolError, Op: "control", Err: fmt.Errorf("%w: unexpected state %v", ErrProtocol, st)}
		}
	}
}

// unexpected turns a state that arrived during the test into an error.
func (r *run) unexpected(st iperf3wire.State) error {
	switch st {
	case iperf3wire.AccessDenied:
		return &Error{Code: CodeAccessDenied, Op: "control", Err: ErrAccessDenied}
	case iperf3wire.ServerError:
		se, err := readServerError(r.ctrl)
		if err != nil {
			return r.fail(CodeProtocolError, "control: read SERVER_ERROR", fmt.Errorf("%w: truncated SERVER_ERROR: %w", ErrProtocol, err))
		}
		return newError(-1, "server", se)
	case iperf3wire.ServerTerminate:
		return &Error{Code: CodeServerError, Op: "control", Err: ErrServerEnded}
	}
	return &Error{Code: CodeProtocolError, Op: "control", Err: fmt.Errorf("%w: unexpected state %v after TEST_END", ErrProtocol, st)}
}

func (r *run) buildParams() {
	t := r.t
	p := iperf3wire.Params{
		Time:          iperf3wire.Number(t.Duration.Seconds()),
		Num:           iperf3wire.Number(t.Bytes),
		BlockCount:    iperf3wire.Number(t.Blocks),
		Parallel:      iperf3wire.Number(t.Parallel),
		Len:           iperf3wire.Number(t.Length),
		PacingTimer:   1000, // iperf3's default, µs
		ClientVersion: clientVersion,
		AuthToken:     r.authToken,
		Reverse:       t.Reverse,
		Bidirectional: t.Bidir,
		NoDelay:       t.NoDelay,
		Congestion:    t.Congestion,
		MPTCP:         t.MPTCP && t.Protocol != UDP,
	}
	if t.Protocol == UDP {
		p.UDP = true
	} else {
		p.TCP = true
	}
	if t.Omit > 0 {
		p.Omit = iperf3wire.Number(t.Omit.Seconds())
	}
	if t.Bitrate > 0 {
		p.Bandwidth = iperf3wire.Number(t.Bitrate)
	}
	if t.Window > 0 {
		p.Window = iperf3wire.Number(t.Window)
	}
	if t.MSS > 0 {
		p.MSS = iperf3wire.Number(t.MSS)
	}
	if t.TOS > 0 {
		p.TOS = iperf3wire.Number(t.TOS)
	}
	if t.GetServerOutput {
		p.GetServerOutput = 1
	}
	if t.UDPCounters64 {
		p.UDPCounters64 = 1
	}
	if t.ZeroCopy {
		p.ZeroCopy = 1
	}
	if t.FQRate > 0 {
		p.FQRate = iperf3wire.Number(t.FQRate)
	}
	if t.RepeatingPayload {
		p.RepeatingPay = 1
	}
	if t.DontFragment {
		p.DontFragment = 1
	}
	p.Title, p.ExtraData = t.Title, t.ExtraData
	r.params = p
	r.cfg = streamConfigFromParams(&p)
	r.cfg.isClient = true
	r.cfg.Interval = max(t.Interval, 0)
}

// createStreams opens every data stream: for bidir the client's sending
// streams first, then its receiving ones, as iperf3 does. Stream ids are
// 1, 3, 4, 5, ... in creation order.
func (r *run) createStreams() error {
	t := r.t
	type plan struct{ sender bool }
	var plans []plan
	switch {
	case t.Bidir:
		for range t.Parallel {
			plans = append(plans, plan{true})
		}
		for range t.Parallel {
			plans = append(plans, plan{false})
		}
	default:
		for range t.Parallel {
			plans = append(plans, plan{!t.Reverse})
		}
	}
	server := r.ctrl.RemoteAddr()
	bind, _ := r.bindIP()
	for i, p := range plans {
		id := i + 1
		if id >= 2 {
			id++
		}
		port := 0
		if t.ClientPort > 0 {
			port = t.ClientPort + i // bidir receivers follow the senders, as in iperf3
		}
		var conn net.Conn
		var err error
		if t.Protocol == UDP {
			conn, err = r.dialUDP(server, bind, port)
		} else {
			conn, err = r.dialTCP(server, bind, port)
		}
		if err != nil {
			return err
		}
		r.conns = append(r.conns, conn)
		r.streams = append(r.streams, newDataStream(id, p.sender, conn, r.cfg))
	}
	if len(r.conns) > 0 {
		r.facts[0], r.facts[1], r.facts[2] = socketFacts(r.conns[0])
		r.mptcp = overMPTCP(r.conns[0])
	}
	switch {
	case r.mptcp:
		r.log.Debug("data streams over MPTCP")
	case t.MPTCP && t.Protocol == TCP:
		r.log.Debug("the server did not take MPTCP: the data streams run over plain TCP, as iperf3's would")
	}
	r.log.Debug("streams created", "count", len(r.streams))
	return nil
}

func (r *run) dialer(bind net.IP, port int, udp bool) net.Dialer {
	d := net.Dialer{Timeout: r.t.ConnectTimeout, Control: dialControl(r.t, port != 0)}
	d.SetMultipathTCP(r.t.MPTCP && !udp)
	if bind != nil || port != 0 {
		if udp {
			d.LocalAddr = &net.UDPAddr{IP: bind, Port: port}
		} else {
			d.LocalAddr = &net.TCPAddr{IP: bind, Port: port}
		}
	}
	return d
}

func (r *run) dialTCP(server net.Addr, bind net.IP, port int) (net.Conn, error) {
	d := r.dialer(bind, port, false)
	conn, err := d.DialContext(r.ctx, "tcp", server.String())
	if err != nil {
		if r.ctx.Err() != nil {
			return nil, r.fail(CodeConnectionFailed, "data: connect", err)
		}
		return nil, &Error{Code: CodeConnectionFailed, Op: "data: connect", Err: fmt.Errorf("%w: %w", ErrConnect, err)}
	}
	_ = conn.SetDeadline(r.deadline)
	if _, err := conn.Write(iperf3wire.CookieBytes(r.cookie)); err != nil {
		conn.Close()
		return nil, r.fail(CodeConnectionFailed, "data: send cookie", err)
	}
	return conn, nil
}

// dialUDP connects a UDP stream and runs iperf3's handshake: send "9876",
// wait for "6789" (or the legacy reply), skipping stray data, resending a
// few times in case a datagram was lost.
func (r *run) dialUDP(server net.Addr, bind net.IP, port int) (net.Conn, error) {
	d := r.dialer(bind, port, true)
	conn, err := d.DialContext(r.ctx, "udp", server.String())
	if err != nil {
		return nil, &Error{Code: CodeConnectionFailed, Op: "data: connect UDP", Err: fmt.Errorf("%w: %w", ErrConnect, err)}
	}
	msg := binary.BigEndian.AppendUint32(nil, iperf3wire.UDPConnectMsg)
	wait := max(r.t.ConnectTimeout/udpConnectAttempts, udpConnectMinWait)
	buf := make([]byte, udpRecvBuf)
	var lastErr error
	for range udpConnectAttempts {
		if _, err := conn.Write(msg); err != nil && !isRefused(err) {
			conn.Close()
			return nil, r.fail(CodeConnectionFailed, "data: UDP handshake", err)
		}
		dl := time.Now().Add(wait)
		if !r.deadline.IsZero() && r.deadline.Before(dl) {
			dl = r.deadline
		}
		_ = conn.SetReadDeadline(dl)
		for stray := 0; stray < udpConnectMaxStray; stray++ {
			n, err := conn.Read(buf)
			if err != nil {
				lastErr = err
				break
			}
			if n == 4 {
				v := binary.BigEndian.Uint32(buf)
				if v == iperf3wire.UDPConnectReply || v == iperf3wire.UDPConnectLegacy {
					_ = conn.SetDeadline(r.deadline)
					return conn, nil
				}
			}
		}
		if r.ctx.Err() != nil {
			break
		}
	}
	conn.Close()
	if lastErr == nil {
		lastErr = errors.New("no reply among the datagrams received")
	}
	if isRefused(lastErr) {
		return nil, &Error{Code: CodeConnectionFailed, Op: "data: UDP handshake", Err: fmt.Errorf("%w: %w", ErrConnect, lastErr)}
	}
	return nil, r.fail(CodeProtocolError, "data: UDP handshake", fmt.Errorf("%w: no UDP connect reply after %d attempts: %w", ErrTimeout, udpConnectAttempts, lastErr))
}

// runData runs the data phase until the client's end condition (time,
// bytes or blocks), then sends TEST_END and returns the next state. A state
// that arrives during the test (an error from the server) ends it early.
func (r *run) runData() (iperf3wire.State, error) {
	dp := startDataPhase(r.ctx, r.liveConfig(), r.streams)
	r.dp = dp
	r.lat.startLoaded(r.t.Omit)
	defer r.lat.stopLoaded()
	type stateMsg struct {
		st  iperf3wire.State
		err error
	}
	ctrlCh := make(chan stateMsg, 1)
	go func() {
		st, err := iperf3wire.ReadState(r.ctrl)
		ctrlCh <- stateMsg{st, err}
	}()
	var timerC <-chan time.Time
	if r.t.Duration > 0 {
		tm := time.NewTimer(r.t.Omit + r.t.Duration)
		defer tm.Stop()
		timerC = tm.C
	}
	var early *stateMsg
	select {
	case <-timerC:
	case <-dp.Done():
		if err := dp.Err(); err != nil && r.ctx.Err() == nil {
			dp.Stop()
			if isDeadline(err) {
				return 0, r.fail(CodeTimeout, "data", err)
			}
			// A stream failed: tell the server and fail the test.
			r.terminate()
			return 0, newError(CodeProtocolError, "data", err)
		}
	case m := <-ctrlCh:
		early = &m
	case <-r.ctx.Done():
	}
	dp.Stop()
	r.lat.stopLoaded()
	if r.ctx.Err() != nil {
		return 0, r.fail(CodeTimeout, "data", r.ctx.Err())
	}
	if early != nil {
		if early.err != nil {
			return 0, r.ctrlReadErr(early.err)
		}
		return early.st, nil
	}
	r.drain()
	if err := iperf3wire.WriteState(r.ctrl, iperf3wire.TestEnd); err != nil {
		return 0, r.fail(CodeProtocolError, "control: send TEST_END", err)
	}
	m := <-ctrlCh // bounded by the control connection's deadline
	if m.err != nil {
		return 0, r.ctrlReadErr(m.err)
	}
	return m.st, nil
}

// liveConfig is the stream config with the test's live hooks attached.
func (r *run) liveConfig() streamConfig {
	cfg := r.cfg
	r.feed = newLiveFeed(r.t.OnStart != nil || r.t.OnInterval != nil)
	if on := r.t.OnStart; on != nil {
		cfg.onStart = func(d *dataPhase) {
			res := r.liveResult(d, d.liveDirections(false))
			r.feed.send(func() { on(res) })
		}
	}
	if on := r.t.OnInterval; on != nil {
		cfg.onInterval = func(d *dataPhase, dirs []DirectionResult) {
			res := r.liveResult(d, dirs)
			r.feed.send(func() { on(res) })
		}
	}
	return cfg
}

// liveResult is a Result for the live hooks: what is known while the test
// runs, with dirs as its figures.
func (r *run) liveResult(d *dataPhase, dirs []DirectionResult) *Result {
	t := r.t
	t.Password = ""
	return &Result{
		Test:                 t,
		Start:                d.start,
		LocalAddr:            r.ctrl.LocalAddr().String(),
		RemoteAddr:           r.ctrl.RemoteAddr().String(),
		Cookie:               r.cookie,
		Directions:           dirs,
		SenderHasRetransmits: d.hasRetrans,
		TCPMSS:               r.facts[0], SndBufActual: r.facts[1], RcvBufActual: r.facts[2],
	}
}

func (r *run) ctrlReadErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("%w: server closed the control connection during the test", ErrProtocol)
	}
	return r.fail(CodeProtocolError, "control: read state", err)
}

// drain keeps reading the client's receiving TCP streams after the data
// phase stopped counting, so that a server blocked in write sees TEST_END.
// The readers end when Run closes the connections.
func (r *run) drain() {
	for _, s := range r.streams {
		if s.Sender || s.isUD {
			continue
		}
		conn := s.Conn
		_ = conn.SetReadDeadline(r.deadline)
		r.drainWG.Add(1)
		go func() {
			defer r.drainWG.Done()
			buf := make([]byte, 64<<10)
			for {
				if _, err := conn.Read(buf); err != nil {
					return
				}
			}
		}()
	}
}

// exchangeResults sends this end's results and reads the server's.
func (r *run) exchangeResults(local *iperf3wire.Results) (*iperf3wire.Results, error) {
	if err := iperf3wire.WriteJSON(r.ctrl, local); err != nil {
		return nil, r.fail(CodeProtocolError, "control: send results", err)
	}
	var raw json.RawMessage
	if err := iperf3wire.ReadJSON(r.ctrl, iperf3wire.MaxResultsJSON, &raw); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("%w: server closed the control connection before its results", ErrProtocol)
		}
		return nil, r.fail(CodeProtocolError, "control: read results", err)
	}
	remote, err := decodeResults(raw)
	if err != nil {
		return nil, &Error{Code: CodeProtocolError, Op: "control: read results", Err: err}
	}
	return remote, nil
}

// decodeResults parses a peer's results JSON. Servers before 3.13 send no
// omitted_packets/omitted_errors; those are marked -1 (unknown) so that
// buildDirections falls back to this end's own omit counts, as iperf3 does.
func decodeResults(raw []byte) (*iperf3wire.Results, error) {
	var res iperf3wire.Results
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("%w: bad results JSON: %v", ErrProtocol, err)
	}
	if res.Streams == nil {
		return nil, fmt.Errorf("%w: results without \"streams\"", ErrProtocol)
	}
	var presence struct {
		Streams []struct {
			OmittedPackets *json.RawMessage `json:"omitted_packets"`
			OmittedErrors  *json.RawMessage `json:"omitted_errors"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(raw, &presence); err == nil && len(presence.Streams) == len(res.Streams) {
		for i, p := range presence.Streams {
			if p.OmittedPackets == nil {
				res.Streams[i].OmittedPackets = -1
			}
			if p.OmittedErrors == nil {
				res.Streams[i].OmittedErrors = -1
			}
		}
	}
	return &res, nil
}

// result assembles the Result once the results were exchanged.
func (r *run) result(res *Result, local, remote *iperf3wire.Results) *Result {
	t := r.t
	t.Password = ""
	res.Test = t
	res.Directions = buildDirections(r.cfg, true, r.dp, local, remote)
	res.TCPMSS, res.SndBufActual, res.RcvBufActual = r.facts[0], r.facts[1], r.facts[2]
	res.MPTCP = r.mptcp
	res.CPULocal = r.dp.cpu
	if remote != nil {
		res.CPURemote = CPU{
			TotalPercent:  float64(remote.CPUUtilTotal),
			UserPercent:   float64(remote.CPUUtilUser),
			SystemPercent: float64(remote.CPUUtilSystem),
		}
		// A stock server keeps sending its output to every later client
		// once any client asked for it; iperf3's client ignores it unless
		// it asked, and so do we.
		if t.GetServerOutput {
			res.ServerOutputText = remote.ServerOutputText
			res.ServerOutputJSON = remote.ServerOutputJSON
		}
	}
	if t.Reverse {
		res.SenderHasRetransmits = remote != nil && remote.SenderHasRetransmits.Int() == 1
	} else {
		res.SenderHasRetransmits = local.SenderHasRetransmits.Int() == 1
	}
	res.Latency = r.lat.finish()
	res.CongestionUsed = local.CongestionUsed
	if res.CongestionUsed == "" && remote != nil {
		res.CongestionUsed = remote.CongestionUsed
	}
	return res
}
