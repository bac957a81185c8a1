package measure

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
)

// A new connection is either the control connection of a new test or a TCP
// data stream of a test in CREATE_STREAMS; only its cookie tells which.

// dispatch handles one accepted connection. It runs on the accept loop and
// must not block: anything that waits on the peer runs in its own goroutine.
func (r *serveRun) dispatch(testCtx context.Context, conn net.Conn, seq uint64, oneOffDone chan struct{}) {
	s := r.srv
	start := time.Now()
	client := addrPortOf(conn.RemoteAddr())
	local := addrPortOf(conn.LocalAddr())

	// --allow: refuse before reading anything.
	if !s.allowed(client.Addr()) {
		abortConn(conn)
		s.log().Info("refused client not in the allow list", "client", client)
		s.report(ServedTest{Client: client, Local: local, Start: start, Code: CodeAccessDenied,
			Err: fmt.Errorf("%w: %s is not in the allow list", ErrAccessDenied, client.Addr())})
		return
	}

	s.mu.Lock()
	switch {
	case (s.running >= s.maxTests() || s.stopping()) && s.awaiting == 0 && s.ending == 0:
		// Busy, and no test is waiting for streams or about to end, so
		// this cannot be a data stream nor get a slot soon: answer at
		// once without reading, as iperf3 does.
		s.mu.Unlock()
		s.refuseBusy(conn, ServedTest{Client: client, Local: local, Start: start})
		return
	}
	// Admit the new connection; at a cap the oldest one without a cookie
	// makes room (see server_admission.go).
	p, victim := s.admit.add(conn, client.Addr())
	logShed := false
	if victim != nil {
		s.shed++
		if logShed = time.Since(s.shedLog) >= shedLogEvery; logShed {
			s.shedLog = time.Now()
		}
	}
	shed := s.shed
	if logShed {
		s.shed = 0
	}
	s.handlers.Add(1)
	s.mu.Unlock()

	if victim != nil {
		abortConn(victim.conn) // its handler sees victim.shed and returns
		s.log().Debug("shed the oldest connection without a cookie", "client", addrPortOf(victim.conn.RemoteAddr()), "for", client)
		if logShed {
			s.log().Warn("connections without a cookie at their cap; shedding the oldest",
				"shed", shed, "newest_from", client, "per_source", s.maxPendingPerSource(), "total", maxPendingConns)
		}
	}

	go func() {
		defer s.handlers.Done()
		r.handleConn(testCtx, conn, p, seq, start, oneOffDone)
	}()
}

// shedLogEvery spaces the warnings about shed connections during a flood.
const shedLogEvery = 10 * time.Second

// endingGrace bounds how long a new client waits for the slot of a test
// whose results are out: a stock client sends IPERF_DONE at once, so the
// slot is normally free within a round trip.
const endingGrace = time.Second

// handleConn reads the cookie and routes the connection.
func (r *serveRun) handleConn(testCtx context.Context, conn net.Conn, p *pendingConn, seq uint64, start time.Time, oneOffDone chan struct{}) {
	s := r.srv
	client := addrPortOf(conn.RemoteAddr())
	local := addrPortOf(conn.LocalAddr())

	// Shutdown closes pending connections too.
	stop := context.AfterFunc(testCtx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	_ = conn.SetReadDeadline(s.cookieDeadline())
	cookie, err := iperf3wire.ReadCookie(conn)
	stop()
	s.mu.Lock()
	admitted := s.admit.done(p)
	s.mu.Unlock()
	if !admitted {
		return // shed for a newer connection, which closed this one
	}
	if err != nil {
		s.log().Debug("connection closed before a valid cookie", "client", client, "err", err)
		abortConn(conn)
		return
	}
	_ = conn.SetReadDeadline(time.Time{})

	s.mu.Lock()
	if t, ok := s.tests[cookie]; ok {
		s.mu.Unlock()
		if !t.addTCPStream(conn, seq) {
			s.log().Debug("closed a stream the test did not ask for", "client", client)
			abortConn(conn)
		}
		return
	}
	if s.running >= s.maxTests() && !s.stopping() && s.ending > 0 {
		// A test is saying goodbye: its client has its results and is
		// sending IPERF_DONE. A client that follows it at once (the next
		// agent of a fleet, a script's next run) waits for that slot
		// rather than being told the server is busy.
		freed := s.freed
		s.mu.Unlock()
		wait := time.NewTimer(endingGrace)
		select {
		case <-freed:
		case <-wait.C:
		case <-testCtx.Done():
		}
		wait.Stop()
		s.mu.Lock()
	}
	if s.running >= s.maxTests() || s.stopping() {
		s.mu.Unlock()
		s.refuseBusy(conn, ServedTest{Client: client, Local: local, Start: start, Cookie: cookie})
		return
	}
	t := newServerTest(r, conn, cookie, start)
	s.tests[cookie] = t
	s.running++
	s.mu.Unlock()

	st, finish := t.run(testCtx)

	s.mu.Lock()
	delete(s.tests, cookie)
	s.running--
	if t.ending {
		s.ending--
	}
	close(s.freed)
	s.freed = make(chan struct{})
	counts := s.OneOff && !errors.Is(st.Err, ErrAuthFailed) && !errors.Is(st.Err, ErrServerBusy)
	if s.running == 0 && s.stopping() {
		s.closeListenersLocked() // the last test of a shutdown
	}
	s.mu.Unlock()
	// The slot is free before the client hears how its test ended, so
	// that it can start the next one at once.
	s.report(st)
	finish()
	if counts {
		r.oneOffOnce.Do(func() {
			close(oneOffDone)
			s.stopAccepting()
		})
	}
}

// refuseBusy sends ACCESS_DENIED and closes the connection.
func (s *Server) refuseBusy(conn net.Conn, st ServedTest) {
	st.Code = CodeServerBusy
	st.Err = ErrServerBusy
	s.log().Info("refused client: all test slots are busy", "client", st.Client, "max_tests", s.maxTests())
	_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
	_ = iperf3wire.WriteState(conn, iperf3wire.AccessDenied)
	s.handlers.Add(1)
	go func() {
		defer s.handlers.Done()
		lingerClose(conn, time.Second)
	}()
	s.report(st)
}

// lingerClose half-closes conn and waits briefly for the peer to close, so
// that the last message is delivered instead of being lost to a reset when
// unread input (a cookie) is pending.
func lingerClose(conn net.Conn, wait time.Duration) {
	if tc, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
		_ = conn.SetReadDeadline(time.Now().Add(wait))
		var buf [512]byte
		for range 64 { // bounded: a peer that keeps sending is cut off
			if _, err := conn.Read(buf[:]); err != nil {
				break
			}
		}
	}
	conn.Close()
}

// abortConn closes conn at once, with a reset when possible.
func abortConn(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	conn.Close()
}
