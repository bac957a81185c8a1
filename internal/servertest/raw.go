package servertest

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
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
	return &RawClient{T: t, TS: ts, C: c, Cookie: iperf3wire.NewCookie()}
}

// SendCookie sends this client's cookie.
func (r *RawClient) SendCookie() { r.T.Helper(); r.Write(iperf3wire.CookieBytes(r.Cookie)) }

// ExpectState reads one state and requires it to be want.
func (r *RawClient) ExpectState(want iperf3wire.State) {
	r.T.Helper()
	got, err := iperf3wire.ReadState(r.C)
	require.NoError(r.T, err, "waiting for %s", want)
	if got == iperf3wire.ServerError {
		num, errno, _ := iperf3wire.ReadServerError(r.C)
		r.T.Fatalf("got SERVER_ERROR %d (%s), errno %d, want %s", num, iperf3wire.ErrorText(num), errno, want)
	}
	require.Equal(r.T, want, got)
}

// ExpectServerError reads SERVER_ERROR and returns its numbers.
func (r *RawClient) ExpectServerError() (num, errno int32) {
	r.T.Helper()
	got, err := iperf3wire.ReadState(r.C)
	require.NoError(r.T, err)
	require.Equal(r.T, iperf3wire.ServerError, got)
	num, errno, err = iperf3wire.ReadServerError(r.C)
	require.NoError(r.T, err)
	return num, errno
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
func (r *RawClient) SendJSON(v any) { r.T.Helper(); require.NoError(r.T, iperf3wire.WriteJSON(r.C, v)) }

// SendState sends one state byte.
func (r *RawClient) SendState(s iperf3wire.State) {
	r.T.Helper()
	require.NoError(r.T, iperf3wire.WriteState(r.C, s))
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
	_, err = c.Write(iperf3wire.CookieBytes(cookie))
	require.NoError(r.T, err)
	return c
}

// ToRunning plays a client up to TEST_RUNNING with one TCP stream.
func ToRunning(t testing.TB, ts *Server, seconds int) (*RawClient, net.Conn) {
	t.Helper()
	rc := DialRaw(t, ts)
	rc.SendCookie()
	rc.ExpectState(iperf3wire.ParamExchange)
	rc.SendJSON(TCPParams(seconds, 1))
	rc.ExpectState(iperf3wire.CreateStreams)
	s := rc.Stream(rc.Cookie)
	rc.ExpectState(iperf3wire.TestStart)
	rc.ExpectState(iperf3wire.TestRunning)
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
