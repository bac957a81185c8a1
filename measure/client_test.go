package measure

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
	"github.com/stretchr/testify/require"
)

// fakeServer is a scripted iperf3 server on loopback for hostile-input
// tests. script gets the control connection (the cookie already read, unless
// rawCtrl) and the listener for data connections.
func fakeServer(t *testing.T, readCookie bool, script func(ctrl net.Conn, ln net.Listener)) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		if readCookie {
			if _, err := iperf3wire.ReadCookie(c); err != nil {
				return
			}
		}
		script(c, ln)
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().(*net.TCPAddr).Port
}

// fakeSetup runs the normal start of a TCP test up to TEST_RUNNING and
// returns the data connections it accepted.
func fakeSetup(t *testing.T, ctrl net.Conn, ln net.Listener) []net.Conn {
	if iperf3wire.WriteState(ctrl, iperf3wire.ParamExchange) != nil {
		return nil
	}
	var p iperf3wire.Params
	if iperf3wire.ReadJSON(ctrl, iperf3wire.MaxParamsJSON, &p) != nil {
		return nil
	}
	if iperf3wire.WriteState(ctrl, iperf3wire.CreateStreams) != nil {
		return nil
	}
	var conns []net.Conn
	for range int(p.Parallel.Int()) {
		c, err := ln.Accept()
		if err != nil {
			return conns
		}
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := iperf3wire.ReadCookie(c); err != nil {
			return conns
		}
		conns = append(conns, c)
		// Discard what the client sends, as a receiver would.
		go func() { _, _ = io.Copy(io.Discard, c) }()
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	_ = iperf3wire.WriteState(ctrl, iperf3wire.TestStart)
	_ = iperf3wire.WriteState(ctrl, iperf3wire.TestRunning)
	return conns
}

// untilTestEnd reads the control connection until TEST_END.
func untilTestEnd(ctrl net.Conn) bool {
	st, err := iperf3wire.ReadState(ctrl)
	return err == nil && st == iperf3wire.TestEnd
}

func TestClientHostileServer(t *testing.T) {
	const timeout = 3 * time.Second
	tests := []struct {
		name       string
		readCookie bool
		script     func(t *testing.T, ctrl net.Conn, ln net.Listener)
		code       ResultCode
		is         error
		serverNum  int32
	}{
		{
			name:       "busy byte then close",
			readCookie: true,
			script: func(t *testing.T, ctrl net.Conn, ln net.Listener) {
				_ = iperf3wire.WriteState(ctrl, iperf3wire.AccessDenied)
			},
			code: CodeServerBusy, is: ErrServerBusy,
		},
		{
			name: "busy byte then reset (cookie unread)",
			script: func(t *testing.T, ctrl net.Conn, ln net.Listener) {
				time.Sleep(50 * time.Millisecond) // let the cookie arrive, unread
				_ = iperf3wire.WriteState(ctrl, iperf3wire.AccessDenied)
				_ = ctrl.(*net.TCPConn).SetLinger(0)
			},
			code: CodeServerBusy, is: ErrServerBusy,
		},
		{
			name:       "access denied after parameters",
			readCookie: true,
			script: func(t *testing.T, ctrl net.Conn, ln net.Listener) {
				takeParams(ctrl)
				_ = iperf3wire.WriteState(ctrl, iperf3wire.AccessDenied)
			},
			code: CodeAccessDenied, is: ErrAccessDenied,
		},
		{
			name:       "server error: total rate",
			readCookie: true,
			script: func(t *testing.T, ctrl net.Conn, ln net.Listener) {
				takeParams(ctrl)
				_ = iperf3wire.WriteServerError(ctrl, iperf3wire.IETOTALRATE, 0)
			},
			code: CodeServerError, serverNum: iperf3wire.IETOTALRATE,
		},
		{
			name:       "server error: auth",
			readCookie: true,
			script: func(t *testing.T, ctrl net.Conn, ln net.Listener) {
				takeParams(ctrl)
				_ = iperf3wire.WriteServerError(ctrl, iperf3wire.IEAUTHTEST, 0)
			},
			code: CodeAuthFailed, serverNum: iperf3wire.IEAUTHTEST,
		},
		{
			name:       "truncated server error",
			readCookie: true,
			script: func(t *testing.T, ctrl net.Conn, ln net.Listener) {
				_, _ = ctrl.Write([]byte{0xfe, 0, 0})
			},
			code: CodeProtocolError, is: ErrProtocol,
		},
		{
			name:       "server error without errno (3.12 auth failure)",
			readCookie: true,
			script: func(t *testing.T, ctrl net.Conn, ln net.Listener) {
				_, _ = ctrl.Write([]byte{0xfe, 0, 0, 0, iperf3wire.IEAUTHTEST})
			},
			code: CodeAuthFailed, serverNum: iperf3wire.IEAUTHTEST,
		},
		{
			name:       "unknown state",
			readCookie: true,
			script: func(t *testing.T, ctrl net.Conn, ln net.Listener) {
				_, _ = ctrl.Write([]byte{77})
			},
			code: CodeProtocolError, is: ErrProtocol,
		},
		{
			name:       "state out of order",
			readCookie: true,
			script: func(t *testing.T, ctrl net.Conn, ln net.Listener) {
				_ = iperf3wire.WriteState(ctrl, iperf3wire.ExchangeResults)
			},
			code: CodeProtocolError, is: ErrProtocol,
		},
		{
			name:       "early close",
			readCookie: true,
			script:     func(t *testing.T, ctrl net.Conn, ln net.Listener) {},
			code:       CodeProtocolError, is: ErrProtocol,
		},
		{
			name:       "silent from the start",
			readCookie: true,
			script: func(t *testing.T, ctrl net.Conn, ln net.Listener) {
				_, _ = io.Copy(io.Discard, ctrl)
			},
			code: CodeTimeout, is: ErrTimeout,
		},
		{
			name:       "stops answering mid-test",
			readCookie: true,
			script: func(t *testing.T, ctrl net.Conn, ln net.Listener) {
				fakeSetup(t, ctrl, ln)
				_, _ = io.Copy(io.Discard, ctrl) // never EXCHANGE_RESULTS
			},
			code: CodeTimeout, is: ErrTimeout,
		},
		{
			name:       "2 GiB results frame",
			readCookie: true,
			script: func(t *testing.T, ctrl net.Conn, ln net.Listener) {
				fakeSetup(t, ctrl, ln)
				if !untilTestEnd(ctrl) {
					return
				}
				_ = iperf3wire.WriteState(ctrl, iperf3wire.ExchangeResults)
				var r iperf3wire.Results
				_ = iperf3wire.ReadJSON(ctrl, iperf3wire.MaxResultsJSON, &r)
				_, _ = ctrl.Write(binary.BigEndian.AppendUint32(nil, 2<<30))
				_, _ = io.Copy(io.Discard, ctrl)
			},
			code: CodeProtocolError, is: ErrProtocol,
		},
		{
			name:       "garbage results JSON",
			readCookie: true,
			script: func(t *testing.T, ctrl net.Conn, ln net.Listener) {
				fakeSetup(t, ctrl, ln)
				if !untilTestEnd(ctrl) {
					return
				}
				_ = iperf3wire.WriteState(ctrl, iperf3wire.ExchangeResults)
				var r iperf3wire.Results
				_ = iperf3wire.ReadJSON(ctrl, iperf3wire.MaxResultsJSON, &r)
				junk := []byte("{\"streams\": [nope")
				_, _ = ctrl.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(junk))), junk...))
				_, _ = io.Copy(io.Discard, ctrl)
			},
			code: CodeProtocolError, is: ErrProtocol,
		},
		{
			name:       "results frame cut short",
			readCookie: true,
			script: func(t *testing.T, ctrl net.Conn, ln net.Listener) {
				fakeSetup(t, ctrl, ln)
				if !untilTestEnd(ctrl) {
					return
				}
				_ = iperf3wire.WriteState(ctrl, iperf3wire.ExchangeResults)
				var r iperf3wire.Results
				_ = iperf3wire.ReadJSON(ctrl, iperf3wire.MaxResultsJSON, &r)
				_, _ = ctrl.Write(append(binary.BigEndian.AppendUint32(nil, 1000), "{\"cpu"...))
			},
			code: CodeProtocolError, is: ErrProtocol,
		},
		{
			name:       "server error during the test",
			readCookie: true,
			script: func(t *testing.T, ctrl net.Conn, ln net.Listener) {
				fakeSetup(t, ctrl, ln)
				time.Sleep(100 * time.Millisecond)
				_ = iperf3wire.WriteServerError(ctrl, iperf3wire.IESTREAMREAD, int32(104))
				_, _ = io.Copy(io.Discard, ctrl)
			},
			code: CodeServerError, serverNum: iperf3wire.IESTREAMREAD,
		},
		{
			name:       "server terminate during the test",
			readCookie: true,
			script: func(t *testing.T, ctrl net.Conn, ln net.Listener) {
				fakeSetup(t, ctrl, ln)
				time.Sleep(100 * time.Millisecond)
				_ = iperf3wire.WriteState(ctrl, iperf3wire.ServerTerminate)
				_, _ = io.Copy(io.Discard, ctrl)
			},
			code: CodeServerError, is: ErrServerEnded,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			port := fakeServer(t, tc.readCookie, func(ctrl net.Conn, ln net.Listener) { tc.script(t, ctrl, ln) })
			c := &Client{}
			t0 := time.Now()
			res, err := c.Run(context.Background(), Test{Host: "127.0.0.1", Port: port, Duration: time.Second, Timeout: timeout, Length: 16 << 10})
			elapsed := time.Since(t0)
			require.Error(t, err)
			require.Nil(t, res)
			var me *Error
			require.ErrorAs(t, err, &me)
			require.Equal(t, tc.code, me.Code, "error: %v", err)
			require.Equal(t, tc.code, Classify(err))
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			}
			if tc.serverNum != 0 {
				var se *ServerError
				require.ErrorAs(t, err, &se)
				require.Equal(t, tc.serverNum, se.Num)
			}
			require.Less(t, elapsed, timeout+2*time.Second)
		})
	}
}

func TestClientConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	_, err = (&Client{}).Run(context.Background(), Test{Host: "127.0.0.1", Port: port, Duration: time.Second})
	require.Error(t, err)
	require.Equal(t, CodeConnectionFailed, Classify(err))
	require.ErrorIs(t, err, ErrConnect)
}

func TestClientInvalidTest(t *testing.T) {
	_, err := (&Client{}).Run(context.Background(), Test{Host: "127.0.0.1", Parallel: MaxStreams + 1})
	require.ErrorContains(t, err, "parallel")
}

func TestClientCancelSendsTerminate(t *testing.T) {
	got := make(chan iperf3wire.State, 1)
	port := fakeServer(t, true, func(ctrl net.Conn, ln net.Listener) {
		fakeSetup(t, ctrl, ln)
		st, err := iperf3wire.ReadState(ctrl)
		if err == nil {
			got <- st
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	t0 := time.Now()
	_, err := (&Client{}).Run(ctx, Test{Host: "127.0.0.1", Port: port, Duration: 10 * time.Second, Length: 16 << 10})
	require.Error(t, err)
	require.True(t, errors.Is(err, context.Canceled), "%v", err)
	require.Less(t, time.Since(t0), 3*time.Second)
	select {
	case st := <-got:
		require.Equal(t, iperf3wire.ClientTerminate, st)
	case <-time.After(3 * time.Second):
		t.Fatal("server saw no CLIENT_TERMINATE")
	}
}

func TestClientIgnoresAfterDisplayResults(t *testing.T) {
	// A full exchange with a fake server that sends a stale SERVER_ERROR
	// after DISPLAY_RESULTS (3.21 does): the test succeeds.
	port := fakeServer(t, true, func(ctrl net.Conn, ln net.Listener) {
		conns := fakeSetup(t, ctrl, ln)
		if !untilTestEnd(ctrl) {
			return
		}
		_ = iperf3wire.WriteState(ctrl, iperf3wire.ExchangeResults)
		var r iperf3wire.Results
		if iperf3wire.ReadJSON(ctrl, iperf3wire.MaxResultsJSON, &r) != nil {
			return
		}
		mine := iperf3wire.Results{CPUUtilTotal: 1.5, SenderHasRetransmits: -1}
		for i, s := range r.Streams {
			mine.Streams = append(mine.Streams, iperf3wire.StreamResults{ID: s.ID, Bytes: iperf3wire.Number(1000 * (i + 1)), Retransmits: -1, EndTime: 1})
		}
		_ = iperf3wire.WriteJSON(ctrl, mine)
		_ = iperf3wire.WriteState(ctrl, iperf3wire.DisplayResults)
		_ = iperf3wire.WriteServerError(ctrl, iperf3wire.IECTRLCLOSE, 0)
		_, _ = iperf3wire.ReadState(ctrl)
		_ = conns
	})
	res, err := (&Client{}).Run(context.Background(), Test{Host: "127.0.0.1", Port: port, Duration: 300 * time.Millisecond, Parallel: 2, Length: 16 << 10, Bitrate: 10_000_000, Password: "secret"})
	require.NoError(t, err)
	require.Len(t, res.Directions, 1)
	require.Equal(t, Forward, res.Directions[0].Direction)
	require.Equal(t, int64(3000), res.Directions[0].Sum.ReceiverBytes)
	require.Equal(t, 1.5, res.CPURemote.TotalPercent)
	require.Empty(t, res.Test.Password)
	require.Len(t, res.Cookie, iperf3wire.CookieSize-1)
	require.Equal(t, "127.0.0.1:"+strconv.Itoa(port), res.RemoteAddr)
}

// takeParams plays a server's PARAM_EXCHANGE: ask for the parameters and
// read them.
func takeParams(ctrl net.Conn) {
	_ = iperf3wire.WriteState(ctrl, iperf3wire.ParamExchange)
	var p iperf3wire.Params
	_ = iperf3wire.ReadJSON(ctrl, iperf3wire.MaxParamsJSON, &p)
}
