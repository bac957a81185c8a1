package measure_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/internal/leakcheck"
	"github.com/iperfmon/iperfmon/internal/servertest"
	"github.com/iperfmon/iperfmon/measure"
)

// A flood of connections that send part of a cookie and hold must not lock
// out real clients from other addresses: stock iperf3 clients bound to
// 127.0.0.2 complete their tests while 1,000 holders from 127.0.0.1 keep
// reconnecting. The server sheds the flood's oldest connections instead of
// refusing the new ones; the flood's own count of connections the server
// closed proves it was at the caps the whole time.
func TestServerFloodOfHalfCookies(t *testing.T) {
	cases := []struct {
		name    string
		sources []string // the flood's source addresses
		holders int
	}{
		// Per-source cap: the flood only ever displaces itself.
		{"one-source", []string{"127.0.0.1"}, 1000},
		// 40 sources × 16 > 256: the total cap sheds the oldest of all,
		// which is always a flood connection, never the newest client.
		{"forty-sources", addrRange(netip.MustParseAddr("127.0.1.1"), 40), 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var sheds atomic.Int64
			srv := &measure.Server{MaxTests: 1, Logger: slog.New(&countHandler{msg: "shed the oldest connection without a cookie", n: &sheds})}
			ts := servertest.Start(t, srv, "127.0.0.1:0")
			warm := servertest.RunIperf3(t, ts, "", nil, "-B", "127.0.0.2", "-t", "1")
			require.Equal(t, 0, warm.ExitCode, warm.Output())
			base := leakcheck.Take()

			f := startFlood(t, ts.Addr(), tc.sources, tc.holders)
			// The flood is at the caps once the server has shed more
			// connections than the holders opened at first.
			deadline := time.Now().Add(20 * time.Second)
			for f.closed.Load() < int64(tc.holders) {
				require.True(t, time.Now().Before(deadline), "the server shed only %d flood connections in 20 s", f.closed.Load())
				time.Sleep(20 * time.Millisecond)
			}
			before := f.closed.Load()
			for i := range 3 {
				// The last test's slot frees once its IPERF_DONE is read,
				// just after its client exits.
				ts.WaitActive(t, 0)
				r := servertest.RunIperf3(t, ts, "", nil, "-B", "127.0.0.2", "-t", "1", "--connect-timeout", "3000")
				require.Equal(t, 0, r.ExitCode, "stock client %d during the flood: %s", i, r.Output())
				require.Less(t, r.Elapsed, 8*time.Second, "stock client %d took %s", i, r.Elapsed)
			}
			during := f.closed.Load() - before
			require.Greater(t, during, int64(tc.holders), "the flood must go on while the clients test")
			f.stop()
			require.Greater(t, sheds.Load(), int64(tc.holders), "the server shed connections to make room")
			t.Logf("%s: %d flood connections closed by the server (shed, answered busy or timed out) while 3 stock clients tested; %d shed in all; %d dials failed (%v)",
				tc.name, during, sheds.Load(), f.dialErrs.Load(), f.firstErr.Load())

			// Flood connections that arrive while a test runs get the
			// busy answer at once, without reading; none ever tests.
			clients, busy := 0, 0
			for _, st := range ts.WaitResults(t, 4, 10*time.Second) {
				if st.Client.Addr() == netip.MustParseAddr("127.0.0.2") {
					clients++
					require.Equal(t, measure.CodeSuccess, st.Code, "stock client: %v", st.Err)
					continue
				}
				busy++
				require.Equal(t, measure.CodeServerBusy, st.Code, "flood connection from %s: %v", st.Client, st.Err)
			}
			require.Equal(t, 4, clients, "tests from 127.0.0.2")
			t.Logf("%s: %d flood connections got the busy answer", tc.name, busy)
			leakcheck.Settle(t, base, 4, 32<<20, 15*time.Second)
		})
	}
}

// countHandler counts log records with one message.
type countHandler struct {
	msg string
	n   *atomic.Int64
}

func (h *countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.n.Add(1)
	}
	return nil
}
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countHandler) WithGroup(string) slog.Handler      { return h }

func addrRange(first netip.Addr, n int) []string {
	var out []string
	for a := first; len(out) < n; a = a.Next() {
		out = append(out, a.String())
	}
	return out
}

// flood is a set of goroutines that each connect, send 10 bytes of a
// 37-byte cookie and wait; when the server closes the connection they
// count it and reconnect after a short pause.
type flood struct {
	closed   atomic.Int64 // connections the server closed (shed, answered busy or timed out)
	dialErrs atomic.Int64
	firstErr atomic.Value // the first dial error, for the log
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

func startFlood(t *testing.T, addr string, sources []string, holders int) *flood {
	ctx, cancel := context.WithCancel(context.Background())
	f := &flood{cancel: cancel}
	t.Cleanup(f.stop)
	for i := range holders {
		src := &net.TCPAddr{IP: net.ParseIP(sources[i%len(sources)])}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.hold(ctx, addr, src)
		}()
	}
	return f
}

// stop ends the flood and waits for its goroutines; their connections close.
func (f *flood) stop() { f.cancel(); f.wg.Wait() }

func (f *flood) hold(ctx context.Context, addr string, src *net.TCPAddr) {
	d := net.Dialer{LocalAddr: src, Timeout: 2 * time.Second}
	pause := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(50 * time.Millisecond): // bounds the flood's rate on a shared machine
			return true
		}
	}
	for ctx.Err() == nil {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			if f.dialErrs.Add(1) == 1 {
				f.firstErr.Store(err.Error())
			}
			if !pause() {
				return
			}
			continue
		}
		stop := context.AfterFunc(ctx, func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		var buf [64]byte
		if _, err = c.Write([]byte("abcdefghij")); err == nil {
			_, err = c.Read(buf[:]) // the server sends nothing: this waits for the close
		}
		var ne net.Error
		if ctx.Err() == nil && !(errors.As(err, &ne) && ne.Timeout()) {
			f.closed.Add(1)
		}
		stop()
		c.Close()
		if !pause() {
			return
		}
	}
}
