package measure

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// rawClient speaks the control protocol by hand, to play hostile or broken
// clients.
type rawClient struct {
	t      *testing.T
	ts     *testServer
	c      net.Conn
	cookie string
}

func dialRaw(t *testing.T, ts *testServer) *rawClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", ts.addr(), 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawClient{t: t, ts: ts, c: c, cookie: NewCookie()}
}

func (r *rawClient) sendCookie() {
	r.t.Helper()
	_, err := r.c.Write(cookieBytes(r.cookie))
	require.NoError(r.t, err)
}

func (r *rawClient) expectState(want State) {
	r.t.Helper()
	got, err := ReadState(r.c)
	require.NoError(r.t, err, "waiting for %s", want)
	if got == ServerErrorSt {
		se, _ := ReadServerError(r.c)
		r.t.Fatalf("got SERVER_ERROR %v, want %s", se, want)
	}
	require.Equal(r.t, want, got)
}

func (r *rawClient) expectServerError() (num, errno int32) {
	r.t.Helper()
	got, err := ReadState(r.c)
	require.NoError(r.t, err)
	require.Equal(r.t, ServerErrorSt, got)
	se, err := ReadServerError(r.c)
	require.NoError(r.t, err)
	return se.Num, se.Errno
}

// expectClosed asserts that the server closes the connection (EOF or reset)
// within d, reading and discarding whatever comes first.
func (r *rawClient) expectClosed(d time.Duration) {
	r.t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, r.c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		r.t.Fatalf("server did not close the connection within %s", d)
	}
}

func (r *rawClient) sendJSON(v any) {
	r.t.Helper()
	require.NoError(r.t, WriteJSON(r.c, v))
}

func (r *rawClient) sendState(s State) {
	r.t.Helper()
	require.NoError(r.t, WriteState(r.c, s))
}

func (r *rawClient) write(b []byte) {
	r.t.Helper()
	_, err := r.c.Write(b)
	require.NoError(r.t, err)
}

// stream opens a TCP data stream with cookie.
func (r *rawClient) stream(cookie string) net.Conn {
	r.t.Helper()
	c, err := net.DialTimeout("tcp", r.ts.addr(), 5*time.Second)
	require.NoError(r.t, err)
	r.t.Cleanup(func() { c.Close() })
	_, err = c.Write(cookieBytes(cookie))
	require.NoError(r.t, err)
	return c
}

func lengthPrefix(n uint32) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], n)
	return b[:]
}

// tcpParams are the parameters of a plain TCP test.
func tcpParams(seconds, parallel int) map[string]any {
	return map[string]any{"tcp": true, "omit": 0, "time": seconds, "num": 0, "blockcount": 0,
		"parallel": parallel, "len": 131072, "pacing_timer": 1000, "client_version": "raw"}
}
