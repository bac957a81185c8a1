package measure

import (
	"context"
	"net/netip"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/stockiperf"
	"github.com/stretchr/testify/require"
)

// waitActive polls until the server runs n tests.
func waitActive(t *testing.T, srv *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for srv.Active() != n {
		require.True(t, time.Now().Before(deadline), "server never had %d active tests (has %d)", n, srv.Active())
		time.Sleep(5 * time.Millisecond)
	}
}

// startIperf3 starts a stock client in the background; wait returns its result.
func startIperf3(t *testing.T, ts *testServer, args ...string) (wait func() iperf3Result, cmd *exec.Cmd) {
	t.Helper()
	bin := stockiperf.RequireTool(t, "iperf3")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	full := append([]string{"-c", ts.host, "-p", strconv.Itoa(ts.port)}, args...)
	cmd = exec.CommandContext(ctx, bin, full...)
	var out, errb lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	require.NoError(t, cmd.Start())
	var once sync.Once
	var res iperf3Result
	wait = func() iperf3Result {
		once.Do(func() {
			err := cmd.Wait()
			cancel()
			res = iperf3Result{Stdout: out.String(), Stderr: errb.String(), Elapsed: time.Since(start)}
			if err != nil {
				res.ExitCode = cmd.ProcessState.ExitCode()
			}
		})
		return res
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); wait() })
	return wait, cmd
}

type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

func TestServerBusy(t *testing.T) {
	srv := &Server{MaxTests: 1}
	ts := startServer(t, srv, "127.0.0.1:0")
	waitA, _ := startIperf3(t, ts, "-t", "3")
	waitActive(t, srv, 1)

	b := runIperf3(t, ts, nil, "-t", "1")
	require.NotEqual(t, 0, b.ExitCode)
	require.Contains(t, b.Stdout+b.Stderr, "the server is busy running a test")
	require.Less(t, b.Elapsed, time.Second, "busy answer took %s", b.Elapsed)

	a := waitA()
	require.Equal(t, 0, a.ExitCode, a.Stdout+a.Stderr)
	recs := ts.waitResults(t, 2, 10*time.Second)
	codes := map[ResultCode]int{}
	for _, r := range recs {
		codes[r.Code]++
	}
	require.Equal(t, map[ResultCode]int{CodeSuccess: 1, CodeServerBusy: 1}, codes)
}

func TestServerMaxTestsConcurrent(t *testing.T) {
	srv := &Server{MaxTests: 4}
	ts := startServer(t, srv, "127.0.0.1:0")
	// Two TCP and two UDP tests from the same address at once: streams
	// find their test by cookie (TCP) and by turn (UDP).
	argsets := [][]string{
		{"-t", "2", "-P", "2"},
		{"-t", "2", "-R", "-P", "2"},
		{"-t", "2", "-u", "-b", "50M", "-l", "1400", "-P", "2"},
		{"-t", "2", "-u", "-b", "50M", "-l", "1400", "-P", "2", "-R"},
	}
	var waits []func() iperf3Result
	for _, a := range argsets {
		w, _ := startIperf3(t, ts, append(a, "-J")...)
		waits = append(waits, w)
	}
	for i, w := range waits {
		r := w()
		require.Equal(t, 0, r.ExitCode, "client %v: %s %s", argsets[i], r.Stdout, r.Stderr)
	}
	recs := ts.waitResults(t, 4, 10*time.Second)
	for _, r := range recs {
		require.Equal(t, CodeSuccess, r.Code, "%v", r.Err)
		require.NotNil(t, r.Result)
		for _, d := range r.Result.Directions {
			require.Positive(t, d.Sum.ReceiverBytes)
			if r.Test.Protocol == UDP {
				// Every stream got its own client's datagrams only.
				require.Less(t, d.Sum.LostPercent, 50.0)
			}
		}
	}
}

func TestServerLimits(t *testing.T) {
	cases := []struct {
		name string
		srv  func() *Server
		args []string
		want string // in the client's output
	}{
		{"parallel", func() *Server { return &Server{MaxParallel: 4} }, []string{"-P", "5", "-t", "1"}, "number of parallel streams too large"},
		{"duration", func() *Server { return &Server{MaxDuration: 5 * time.Second} }, []string{"-t", "10"}, "test duration too long"},
		{"duration-with-omit", func() *Server { return &Server{MaxDuration: 5 * time.Second} }, []string{"-t", "3", "-O", "3"}, "test duration too long"},
		{"duration-forever", func() *Server { return &Server{MaxDuration: 5 * time.Second} }, []string{"-t", "0"}, "test duration too long"},
		{"bitrate", func() *Server { return &Server{MaxBitrate: 100_000_000} }, []string{"-u", "-b", "60M", "-P", "2", "-t", "1"}, "total required bandwidth is larger than server limit"},
		{"bitrate-bidir", func() *Server { return &Server{MaxBitrate: 100_000_000} }, []string{"-u", "-b", "60M", "--bidir", "-t", "1"}, "total required bandwidth is larger than server limit"},
		{"bitrate-measured", func() *Server { return &Server{MaxBitrate: 100_000_000} }, []string{"-t", "4"}, "total required bandwidth is larger than server limit"},
		{"udp-length", func() *Server { return &Server{} }, []string{"-u", "-l", "70000", "-t", "1"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, tc.srv(), "127.0.0.1:0")
			r := runIperf3(t, ts, nil, tc.args...)
			require.NotEqual(t, 0, r.ExitCode, r.Stdout)
			require.Contains(t, r.Stdout+r.Stderr, tc.want)
			if tc.want == "" {
				return // refused by the client itself
			}
			st := ts.last(t, 1)
			require.Equal(t, CodeServerError, st.Code, "%v", st.Err)
			require.Less(t, r.Elapsed, 5*time.Second)
		})
	}
}

func TestServerBitrateCapPacesReverse(t *testing.T) {
	srv := &Server{MaxBitrate: 100_000_000}
	ts := startServer(t, srv, "127.0.0.1:0")
	r := runIperf3(t, ts, nil, "-t", "2", "-R", "-J")
	require.Equal(t, 0, r.ExitCode, r.JSON.Error)
	require.LessOrEqual(t, r.JSON.End.SumReceived.BitsPerSecond, 105e6)
	require.Greater(t, r.JSON.End.SumReceived.BitsPerSecond, 50e6)
}

func TestServerAllow(t *testing.T) {
	srv := &Server{Allow: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("fd00::/8")}}
	ts := startServer(t, srv, "127.0.0.1:0")
	r := runIperf3(t, ts, nil, "-t", "1")
	require.NotEqual(t, 0, r.ExitCode)
	require.Less(t, r.Elapsed, 2*time.Second)
	st := ts.last(t, 1)
	require.Equal(t, CodeAccessDenied, st.Code)
	require.Empty(t, st.Cookie, "nothing may be read from a refused client")

	srv2 := &Server{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	ts2 := startServer(t, srv2, "127.0.0.1:0")
	r = runIperf3(t, ts2, nil, "-t", "1")
	require.Equal(t, 0, r.ExitCode, r.Stdout+r.Stderr)
}
