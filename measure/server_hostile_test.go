package measure

import (
	"net"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Hostile and broken peers. Each case is followed by a normal stock client
// that must succeed in its normal time, and at the end the server's
// goroutines and descriptors must be back to where they started.

const hostileIdle = 300 * time.Millisecond

// toRunning plays a client up to TEST_RUNNING with one TCP stream.
func toRunning(t *testing.T, ts *testServer, seconds int) (*rawClient, net.Conn) {
	t.Helper()
	rc := dialRaw(t, ts)
	rc.sendCookie()
	rc.expectState(ParamExchange)
	rc.sendJSON(tcpParams(seconds, 1))
	rc.expectState(CreateStreams)
	s := rc.stream(rc.cookie)
	rc.expectState(TestStart)
	rc.expectState(TestRunning)
	return rc, s
}

func TestServerHostilePeers(t *testing.T) {
	srv := &Server{MaxTests: 1, IdleTimeout: hostileIdle, Logger: testLogger(t)}
	ts := startServer(t, srv, "127.0.0.1:0")
	warm := runIperf3(t, ts, nil, "-t", "1")
	require.Equal(t, 0, warm.ExitCode, warm.Stdout+warm.Stderr)
	base := takeBaseline()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heap0 := ms.HeapInuse

	cases := []struct {
		name string
		play func(t *testing.T)
	}{
		{"huge-length-prefix", func(t *testing.T) {
			rc := dialRaw(t, ts)
			rc.sendCookie()
			rc.expectState(ParamExchange)
			rc.write(lengthPrefix(0x7fffffff))
			num, _ := rc.expectServerError()
			require.Equal(t, int32(IERECVPARAMS), num)
			rc.expectClosed(2 * time.Second)
		}},
		{"garbage-params-json", func(t *testing.T) {
			rc := dialRaw(t, ts)
			rc.sendCookie()
			rc.expectState(ParamExchange)
			rc.write(append(lengthPrefix(5), "{{{{{"...))
			num, _ := rc.expectServerError()
			require.Equal(t, int32(IERECVPARAMS), num)
		}},
		{"short-cookie-then-close", func(t *testing.T) {
			rc := dialRaw(t, ts)
			rc.write([]byte("abcdefghij"))
			rc.c.Close()
		}},
		{"short-cookie-then-silence", func(t *testing.T) {
			rc := dialRaw(t, ts)
			rc.write([]byte("abcdefghij"))
			rc.expectClosed(hostileIdle + 2*time.Second)
		}},
		{"cookie-outside-alphabet", func(t *testing.T) {
			rc := dialRaw(t, ts)
			b := make([]byte, CookieSize)
			for i := range b {
				b[i] = 0xff
			}
			rc.write(b)
			rc.expectClosed(time.Second)
		}},
		{"streams-with-unknown-cookies", func(t *testing.T) {
			rc := dialRaw(t, ts)
			rc.sendCookie()
			rc.expectState(ParamExchange)
			rc.sendJSON(tcpParams(1, 2))
			rc.expectState(CreateStreams)
			stray := &rawClient{t: t, ts: ts, c: rc.stream(NewCookie())}
			stray.expectClosed(time.Second) // busy answer or plain close
			rc.stream(rc.cookie)
			rc.stream(rc.cookie)
			rc.expectState(TestStart)
			extra := &rawClient{t: t, ts: ts, c: rc.stream(rc.cookie)} // one too many
			extra.expectClosed(time.Second)
			rc.c.Close()
		}},
		{"idle-connections-held-open", func(t *testing.T) {
			var conns []*rawClient
			for range 50 {
				conns = append(conns, dialRaw(t, ts))
			}
			r := runIperf3(t, ts, nil, "-t", "1")
			require.Equal(t, 0, r.ExitCode, "stock client with 50 idle connections open: %s", r.Stdout+r.Stderr)
			for _, c := range conns {
				c.expectClosed(hostileIdle + 2*time.Second)
			}
		}},
		{"disconnect-at-param-exchange", func(t *testing.T) {
			rc := dialRaw(t, ts)
			rc.sendCookie()
			rc.expectState(ParamExchange)
			rc.c.Close()
		}},
		{"disconnect-inside-params", func(t *testing.T) {
			rc := dialRaw(t, ts)
			rc.sendCookie()
			rc.expectState(ParamExchange)
			rc.write(append(lengthPrefix(100), `{"tcp":true`...))
			rc.c.Close()
		}},
		{"silent-inside-params", func(t *testing.T) {
			rc := dialRaw(t, ts)
			rc.sendCookie()
			rc.expectState(ParamExchange)
			rc.write(append(lengthPrefix(100), `{"tcp":true`...))
			num, errno := rc.expectServerError()
			require.Equal(t, int32(IERECVPARAMS), num)
			require.Equal(t, int32(syscall.ETIMEDOUT), errno)
		}},
		{"no-streams-opened", func(t *testing.T) {
			rc := dialRaw(t, ts)
			rc.sendCookie()
			rc.expectState(ParamExchange)
			rc.sendJSON(tcpParams(1, 2))
			rc.expectState(CreateStreams)
			rc.stream(rc.cookie) // one of two
			num, _ := rc.expectServerError()
			require.Equal(t, int32(IESTREAMACCEPT), num)
		}},
		{"udp-never-connects", func(t *testing.T) {
			rc := dialRaw(t, ts)
			rc.sendCookie()
			rc.expectState(ParamExchange)
			p := tcpParams(1, 1)
			delete(p, "tcp")
			p["udp"], p["len"], p["bandwidth"] = true, 1400, 1000000
			rc.sendJSON(p)
			rc.expectState(CreateStreams)
			num, _ := rc.expectServerError()
			require.Equal(t, int32(IESTREAMACCEPT), num)
		}},
		{"disconnect-mid-test", func(t *testing.T) {
			rc, s := toRunning(t, ts, 10)
			_, err := s.Write(make([]byte, 64<<10))
			require.NoError(t, err)
			s.Close()
			rc.c.Close()
		}},
		{"silent-mid-test", func(t *testing.T) {
			rc, _ := toRunning(t, ts, 10)
			num, _ := rc.expectServerError()
			require.Equal(t, int32(IENOMSG), num)
		}},
		{"garbage-state-byte", func(t *testing.T) {
			rc, _ := toRunning(t, ts, 10)
			rc.write([]byte{0x55})
			num, _ := rc.expectServerError()
			require.Equal(t, int32(IEMESSAGE), num)
		}},
		{"garbage-state-at-param-exchange", func(t *testing.T) {
			rc := dialRaw(t, ts)
			rc.sendCookie()
			rc.expectState(ParamExchange)
			rc.write([]byte{0xfe, 0xfe, 0xfe, 0xfe, 0xfe})
			num, _ := rc.expectServerError()
			require.Equal(t, int32(IERECVPARAMS), num)
		}},
		{"client-terminate-mid-test", func(t *testing.T) {
			rc, _ := toRunning(t, ts, 10)
			rc.sendState(ClientTerminate)
			rc.expectClosed(2 * time.Second)
		}},
		{"huge-results", func(t *testing.T) {
			rc, s := toRunning(t, ts, 10)
			_, _ = s.Write(make([]byte, 1<<10))
			rc.sendState(TestEnd)
			rc.expectState(ExchangeResults)
			rc.write(lengthPrefix(0x7fffffff))
			num, _ := rc.expectServerError()
			require.Equal(t, int32(IERECVRESULTS), num)
		}},
		{"killed-stock-client", func(t *testing.T) {
			wait, cmd := startIperf3(t, ts, "-t", "10")
			waitActive(t, srv, 1)
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
					c, err := net.DialTimeout("tcp", ts.addr(), 5*time.Second)
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
			r := runIperf3(t, ts, nil, "-t", "1")
			require.Equal(t, 0, r.ExitCode, "stock client after %s: %s", tc.name, r.Stdout+r.Stderr)
			require.Less(t, r.Elapsed, 4*time.Second)
		})
	}
	requireBackToBaseline(t, base, 2)
	runtime.GC()
	runtime.ReadMemStats(&ms)
	require.Less(t, int64(ms.HeapInuse)-int64(heap0), int64(64<<20), "heap grew from %d to %d", heap0, ms.HeapInuse)
}
