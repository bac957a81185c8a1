package servertest

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/measure"
	"github.com/stretchr/testify/require"
)

// RawClient speaks the control protocol by hand, to play hostile or broken
// clients.
type RawClient struct {
	T      testing.TB
	TS     *Server
	C      net.Conn
	Cookie string
}

// DialRaw connects to ts; the connection closes when the test ends.
func DialRaw(t testing.TB, ts *Server) *RawClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", ts.Addr(), 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &RawClient{T: t, TS: ts, C: c, Cookie: measure.NewCookie()}
}

// CookieBytes is a cookie as it goes on the wire.
func CookieBytes(c string) []byte { return append([]byte(c), 0) }

// SendCookie sends this client's cookie.
func (r *RawClient) SendCookie() { r.T.Helper(); r.Write(CookieBytes(r.Cookie)) }

// ExpectState reads one state and requires it to be want.
func (r *RawClient) ExpectState(want measure.State) {
	r.T.Helper()
	got, err := measure.ReadState(r.C)
	require.NoError(r.T, err, "waiting for %s", want)
	if got == measure.ServerErrorSt {
		se, _ := measure.ReadServerError(r.C)
		r.T.Fatalf("got SERVER_ERROR %v, want %s", se, want)
	}
	require.Equal(r.T, want, got)
}

// ExpectServerError reads SERVER_ERROR and returns its numbers.
func (r *RawClient) ExpectServerError() (num, errno int32) {
	r.T.Helper()
	got, err := measure.ReadState(r.C)
	require.NoError(r.T, err)
	require.Equal(r.T, measure.ServerErrorSt, got)
	se, err := measure.ReadServerError(r.C)
	require.NoError(r.T, err)
	return se.Num, se.Errno
}

// ExpectClosed requires the server to close the connection (EOF or reset)
// within d, discarding whatever comes first.
func (r *RawClient) ExpectClosed(d time.Duration) {
	r.T.Helper()
	_ = r.C.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, r.C)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		r.T.Fatalf("server did not close the connection within %s", d)
	}
}

// SendJSON sends a length-prefixed JSON frame.
func (r *RawClient) SendJSON(v any) { r.T.Helper(); require.NoError(r.T, measure.WriteJSON(r.C, v)) }

// SendState sends one state byte.
func (r *RawClient) SendState(s measure.State) {
	r.T.Helper()
	require.NoError(r.T, measure.WriteState(r.C, s))
}

// Write sends raw bytes.
func (r *RawClient) Write(b []byte) {
	r.T.Helper()
	_, err := r.C.Write(b)
	require.NoError(r.T, err)
}

// Stream opens a TCP data stream that announces cookie.
func (r *RawClient) Stream(cookie string) net.Conn {
	r.T.Helper()
	c, err := net.DialTimeout("tcp", r.TS.Addr(), 5*time.Second)
	require.NoError(r.T, err)
	r.T.Cleanup(func() { c.Close() })
	_, err = c.Write(CookieBytes(cookie))
	require.NoError(r.T, err)
	return c
}

// ToRunning plays a client up to TEST_RUNNING with one TCP stream.
func ToRunning(t testing.TB, ts *Server, seconds int) (*RawClient, net.Conn) {
	t.Helper()
	rc := DialRaw(t, ts)
	rc.SendCookie()
	rc.ExpectState(measure.ParamExchange)
	rc.SendJSON(TCPParams(seconds, 1))
	rc.ExpectState(measure.CreateStreams)
	s := rc.Stream(rc.Cookie)
	rc.ExpectState(measure.TestStart)
	rc.ExpectState(measure.TestRunning)
	return rc, s
}

// LengthPrefix is a JSON frame's 4-byte length.
func LengthPrefix(n uint32) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], n)
	return b[:]
}

// TCPParams are the parameters of a plain TCP test.
func TCPParams(seconds, parallel int) map[string]any {
	return map[string]any{"tcp": true, "omit": 0, "time": seconds, "num": 0, "blockcount": 0,
		"parallel": parallel, "len": 131072, "pacing_timer": 1000, "client_version": "raw"}
}
