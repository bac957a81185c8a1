package measure

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
	"github.com/stretchr/testify/require"
)

// The zero Server is safe to expose: one test at a time, iperf3's stream
// cap, tests of at most an hour, every wait on a client bounded by a 10 s
// idle timeout, 3 s to send the cookie, a bounded number of connections
// without a cookie (in total and per source), and a 10 s window for auth
// tokens. docs/security.md promises these numbers.
func TestServerDefaultsAreSafe(t *testing.T) {
	var s Server
	require.NoError(t, s.init())
	require.Equal(t, 1, s.maxTests(), "MaxTests")
	require.Equal(t, 128, s.maxParallel(), "MaxParallel")
	require.Equal(t, time.Hour, s.maxDuration(), "MaxDuration")
	require.Equal(t, 10*time.Second, s.idle(), "IdleTimeout")
	require.Equal(t, 10*time.Second, s.skew(), "TimeSkewThreshold")
	require.Equal(t, 256, maxPendingConns)
	require.Equal(t, 16, s.maxPendingPerSource(), "MaxPendingPerSource")
	require.WithinDuration(t, time.Now().Add(3*time.Second), s.cookieDeadline(), 100*time.Millisecond, "CookieTimeout")
	require.Nil(t, s.authKey, "authentication is opt-in")
	require.Empty(t, s.Allow, "no allow list: every client may connect")
}

// With default settings, a client that connects and never sends its
// cookie is dropped after the cookie timeout, and one that sends its cookie
// and then nothing after the idle timeout; neither is kept for ever.
func TestServerDefaultIdleTimeoutDropsSilentClient(t *testing.T) {
	t.Parallel()
	srv := &Server{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() {
		cancel()
		_ = srv.Close()
		<-done
	}()
	for _, sendCookie := range []bool{false, true} {
		c, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		if sendCookie { // a test that then says nothing more
			_, err = c.Write(iperf3wire.CookieBytes(iperf3wire.NewCookie()))
			require.NoError(t, err)
		}
		began := time.Now()
		require.NoError(t, c.SetReadDeadline(began.Add(3*DefaultIdleTimeout)))
		_, err = io.Copy(io.Discard, c) // until the server closes or resets
		took := time.Since(began)
		c.Close()
		var ne net.Error
		if err != nil && (!errors.As(err, &ne) || ne.Timeout()) {
			t.Fatalf("cookie=%v: the server never dropped the silent client: %v", sendCookie, err)
		}
		want := DefaultCookieTimeout
		if sendCookie {
			want = DefaultIdleTimeout
		}
		require.InDelta(t, want.Seconds(), took.Seconds(), 2, "cookie=%v: dropped after %s", sendCookie, took)
	}
}
