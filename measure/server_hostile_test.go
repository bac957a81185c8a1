package measure_test

import (
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
	"github.com/iperfmon/iperfmon/internal/leakcheck"
	"github.com/iperfmon/iperfmon/internal/servertest"
	"github.com/iperfmon/iperfmon/measure"
	"github.com/stretchr/testify/require"
)

// Hostile and broken peers. Each case is followed by a normal stock client
// that must succeed in its normal time, and at the end the server's
// goroutines and descriptors must be back to where they started.

const hostileIdle = time.Second

func TestServerHostilePeers(t *testing.T) {
	srv := &measure.Server{MaxTests: 1, IdleTimeout: hostileIdle, Logger: servertest.Logger(t)}
	ts := servertest.Start(t, srv, "127.0.0.1:0")
	warm := servertest.RunIperf3(t, ts, "", nil, "-t", "1")
	require.Equal(t, 0, warm.ExitCode, warm.Stdout+warm.Stderr)
	base := leakcheck.Take()

	cases := []struct {
		name string
		play func(t *testing.T)
	}{
		{"huge-length-prefix", func(t *testing.T) {
			rc := servertest.DialRaw(t, ts)
			rc.SendCookie()
			rc.ExpectState(iperf3wire.ParamExchange)
			rc.Write(servertest.LengthPrefix(0x7fffffff))
			num, _ := rc.ExpectServerError()
			require.Equal(t, int32(iperf3wire.IERECVPARAMS), num)
			rc.ExpectClosed(2 * time.Second)
		}},
		{"garbage-params-json", func(t *testing.T) {
			rc := servertest.DialRaw(t, ts)
			rc.SendCookie()
			rc.ExpectState(iperf3wire.ParamExchange)
			rc.Write(append(servertest.LengthPrefix(5), "{{{{{"...))
			num, _ := rc.ExpectServerError()
			require.Equal(t, int32(iperf3wire.IERECVPARAMS), num)
		}},
		{"short-cookie-then-close", func(t *testing.T) {
			rc := servertest.DialRaw(t, ts)
			rc.Write([]byte("abcdefghij"))
			rc.C.Close()
		}},
		{"short-cookie-then-silence", func(t *testing.T) {
			rc := servertest.DialRaw(t, ts)
			rc.Write([]byte("abcdefghij"))
			rc.ExpectClosed(hostileIdle + 2*time.Second)
		}},
		{"cookie-outside-alphabet", func(t *testing.T) {
			rc := servertest.DialRaw(t, ts)
			b := make([]byte, iperf3wire.CookieSize)
			for i := range b {
				b[i] = 0xff
			}
			rc.Write(b)
			rc.ExpectClosed(time.Second)
		}},
		{"cookie-without-terminator", func(t *testing.T) {
			rc := servertest.DialRaw(t, ts)
			rc.Write([]byte(strings.Repeat("a", iperf3wire.CookieSize))) // no NUL at the end
			rc.ExpectClosed(hostileIdle + 2*time.Second)
		}},
		{"streams-with-unknown-cookies", func(t *testing.T) {
			rc := servertest.DialRaw(t, ts)
			rc.SendCookie()
			rc.ExpectState(iperf3wire.ParamExchange)
			rc.SendJSON(servertest.TCPParams(1, 2))
			rc.ExpectState(iperf3wire.CreateStreams)
			stray := &servertest.RawClient{T: t, TS: ts, C: rc.Stream(iperf3wire.NewCookie())}
			stray.ExpectClosed(time.Second) // busy answer or plain close
			rc.Stream(rc.Cookie)
			rc.Stream(rc.Cookie)
			rc.ExpectState(iperf3wire.TestStart)
			extra := &servertest.RawClient{T: t, TS: ts, C: rc.Stream(rc.Cookie)} // one too many
			extra.ExpectClosed(time.Second)
			rc.C.Close()
		}},
		{"idle-connections-held-open", func(t *testing.T) {
			var conns []*servertest.RawClient
			for range 50 {
				conns = append(conns, servertest.DialRaw(t, ts))
			}
			r := servertest.RunIperf3(t, ts, "", nil, "-t", "1")
			require.Equal(t, 0, r.ExitCode, "stock client with 50 idle connections open: %s", r.Stdout+r.Stderr)
			for _, c := range conns {
				c.ExpectClosed(hostileIdle + 2*time.Second)
			}
		}},
		{"disconnect-at-param-exchange", func(t *testing.T) {
			rc := servertest.DialRaw(t, ts)
			rc.SendCookie()
			rc.ExpectState(iperf3wire.ParamExchange)
			rc.C.Close()
		}},
		{"disconnect-inside-params", func(t *testing.T) {
			rc := servertest.DialRaw(t, ts)
			rc.SendCookie()
			rc.ExpectState(iperf3wire.ParamExchange)
			rc.Write(append(servertest.LengthPrefix(100), `{"tcp":true`...))
			rc.C.Close()
		}},
		{"silent-inside-params", func(t *testing.T) {
			rc := servertest.DialRaw(t, ts)
			rc.SendCookie()
			rc.ExpectState(iperf3wire.ParamExchange)
			rc.Write(append(servertest.LengthPrefix(100), `{"tcp":true`...))
			num, errno := rc.ExpectServerError()
			require.Equal(t, int32(iperf3wire.IERECVPARAMS), num)
			require.Equal(t, int32(syscall.ETIMEDOUT), errno)
		}},
		{"no-streams-opened", func(t *testing.T) {
			rc := servertest.DialRaw(t, ts)
			rc.SendCookie()
			rc.ExpectState(iperf3wire.ParamExchange)
			rc.SendJSON(servertest.TCPParams(1, 2))
			rc.ExpectState(iperf3wire.CreateStreams)
			rc.Stream(rc.Cookie) // one of two
			num, _ := rc.ExpectServerError()
			require.Equal(t, int32(iperf3wire.IESTREAMACCEPT), num)
		}},
		{"udp-never-connects", func(t *testing.T) {
			rc := servertest.DialRaw(t, ts)
			rc.SendCookie()
			rc.ExpectState(iperf3wire.ParamExchange)
			p := servertest.TCPParams(1, 1)
			delete(p, "tcp")
			p["udp"], p["len"], p["bandwidth"] = true, 1400, 1000000
			rc.SendJSON(p)
			rc.ExpectState(iperf3wire.CreateStreams)
			num, _ := rc.ExpectServerError()
			require.Equal(t, int32(iperf3wire.IESTREAMACCEPT), num)
		}},
		{"disconnect-mid-test", func(t *testing.T) {
			rc, s := servertest.ToRunning(t, ts, 10)
			_, err := s.Write(make([]byte, 64<<10))
			require.NoError(t, err)
			s.Close()
			rc.C.Close()
		}},
		{"silent-mid-test", func(t *testing.T) {
			rc, _ := servertest.ToRunning(t, ts, 10)
			num, _ := rc.ExpectServerError()
			require.Equal(t, int32(iperf3wire.IENOMSG), num)
		}},
		{"garbage-state-byte", func(t *testing.T) {
			rc, _ := servertest.ToRunning(t, ts, 10)
			rc.Write([]byte{0x55})
			num, _ := rc.ExpectServerError()
			require.Equal(t, int32(iperf3wire.IEMESSAGE), num)
		}},
		{"garbage-state-at-param-exchange", func(t *testing.T) {
			rc := servertest.DialRaw(t, ts)
			rc.SendCookie()
			rc.ExpectState(iperf3wire.ParamExchange)
			rc.Write([]byte{0xfe, 0xfe, 0xfe, 0xfe, 0xfe})
			num, _ := rc.ExpectServerError()
			require.Equal(t, int32(iperf3wire.IERECVPARAMS), num)
		}},
		{"client-terminate-mid-test", func(t *testing.T) {
			rc, _ := servertest.ToRunning(t, ts, 10)
			rc.SendState(iperf3wire.ClientTerminate)
			rc.ExpectClosed(2 * time.Second)
		}},
		{"huge-results", func(t *testing.T) {
			rc, s := servertest.ToRunning(t, ts, 10)
			_, _ = s.Write(make([]byte, 1<<10))
			rc.SendState(iperf3wire.TestEnd)
			rc.ExpectState(iperf3wire.ExchangeResults)
			rc.Write(servertest.LengthPrefix(0x7fffffff))
			num, _ := rc.ExpectServerError()
			require.Equal(t, int32(iperf3wire.IERECVRESULTS), num)
		}},
		{"killed-stock-client", func(t *testing.T) {
			wait, cmd := servertest.StartIperf3(t, ts, "", nil, "-t", "10")
			ts.WaitActive(t, 1)
			require.NoError(t, cmd.Process.Kill())
			wait()
		}},
		{"rapid-connects", func(t *testing.T) {
			var wg sync.WaitGroup
			sem := make(chan struct{}, 20)
			for range 500 {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					c, err := net.DialTimeout("tcp", ts.Addr(), 5*time.Second)
					if err == nil {
						c.Close()
					}
				}()
			}
			wg.Wait()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.play(t)
			// The slot must come free promptly (a client that is gone is
			// noticed within the idle timeout at worst).
			start := time.Now()
			ts.WaitActive(t, 0)
			require.Less(t, time.Since(start), hostileIdle+time.Second)
			r := servertest.RunIperf3(t, ts, "", nil, "-t", "1")
			require.Equal(t, 0, r.ExitCode, "stock client after %s: %s", tc.name, r.Stdout+r.Stderr)
			require.Less(t, r.Elapsed, 4*time.Second)
		})
	}
	leakcheck.Settle(t, base, 2, 64<<20, 10*time.Second)
}
