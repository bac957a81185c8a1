package measure_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/servertest"
	"github.com/iperfmon/iperfmon/measure"
	"github.com/stretchr/testify/require"
)

func TestServerBusy(t *testing.T) {
	srv := &measure.Server{MaxTests: 1}
	ts := servertest.Start(t, srv, "127.0.0.1:0")
	waitA, _ := servertest.StartIperf3(t, ts, "", nil, "-t", "3")
	ts.WaitActive(t, 1)

	b := servertest.RunIperf3(t, ts, "", nil, "-t", "1")
	require.NotEqual(t, 0, b.ExitCode)
	require.Contains(t, b.Stdout+b.Stderr, "the server is busy running a test")
	require.Less(t, b.Elapsed, time.Second, "busy answer took %s", b.Elapsed)

	a := waitA()
	require.Equal(t, 0, a.ExitCode, a.Stdout+a.Stderr)
	recs := ts.WaitResults(t, 2, 10*time.Second)
	codes := map[measure.ResultCode]int{}
	for _, r := range recs {
		codes[r.Code]++
	}
	require.Equal(t, map[measure.ResultCode]int{measure.CodeSuccess: 1, measure.CodeServerBusy: 1}, codes)
}

func TestServerMaxTestsConcurrent(t *testing.T) {
	srv := &measure.Server{MaxTests: 4}
	ts := servertest.Start(t, srv, "127.0.0.1:0")
	// Two measure.TCP and two measure.UDP tests from the same address at once: streams
	// find their test by cookie (measure.TCP) and by turn (measure.UDP).
	argsets := [][]string{
		{"-t", "2", "-P", "2"},
		{"-t", "2", "-R", "-P", "2"},
		{"-t", "2", "-u", "-b", "50M", "-l", "1400", "-P", "2"},
		{"-t", "2", "-u", "-b", "50M", "-l", "1400", "-P", "2", "-R"},
	}
	var waits []func() servertest.Iperf3Result
	for _, a := range argsets {
		w, _ := servertest.StartIperf3(t, ts, "", nil, append(a, "-J")...)
		waits = append(waits, w)
	}
	for i, w := range waits {
		r := w()
		require.Equal(t, 0, r.ExitCode, "client %v: %s %s", argsets[i], r.Stdout, r.Stderr)
	}
	recs := ts.WaitResults(t, 4, 10*time.Second)
	for _, r := range recs {
		require.Equal(t, measure.CodeSuccess, r.Code, "%v", r.Err)
		require.NotNil(t, r.Result)
		for _, d := range r.Result.Directions {
			require.Positive(t, d.Sum.ReceiverBytes)
			if r.Test.Protocol == measure.UDP {
				// Every stream got its own client's datagrams only.
				require.Less(t, d.Sum.LostPercent, 50.0)
			}
		}
	}
}

func TestServerLimits(t *testing.T) {
	cases := []struct {
		name string
		srv  func() *measure.Server
		args []string
		want string // in the client's output
	}{
		{"parallel", func() *measure.Server { return &measure.Server{MaxParallel: 4} }, []string{"-P", "5", "-t", "1"}, "number of parallel streams too large"},
		{"duration", func() *measure.Server { return &measure.Server{MaxDuration: 5 * time.Second} }, []string{"-t", "10"}, "test duration too long"},
		{"duration-with-omit", func() *measure.Server { return &measure.Server{MaxDuration: 5 * time.Second} }, []string{"-t", "3", "-O", "3"}, "test duration too long"},
		{"duration-forever", func() *measure.Server { return &measure.Server{MaxDuration: 5 * time.Second} }, []string{"-t", "0"}, "test duration too long"},
		{"bitrate", func() *measure.Server { return &measure.Server{MaxBitrate: 100_000_000} }, []string{"-u", "-b", "60M", "-P", "2", "-t", "1"}, "total required bandwidth is larger than server limit"},
		{"bitrate-bidir", func() *measure.Server { return &measure.Server{MaxBitrate: 100_000_000} }, []string{"-u", "-b", "60M", "--bidir", "-t", "1"}, "total required bandwidth is larger than server limit"},
		{"bitrate-measured", func() *measure.Server { return &measure.Server{MaxBitrate: 100_000_000} }, []string{"-t", "4"}, "total required bandwidth is larger than server limit"},
		{"udp-length", func() *measure.Server { return &measure.Server{} }, []string{"-u", "-l", "70000", "-t", "1"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := servertest.Start(t, tc.srv(), "127.0.0.1:0")
			r := servertest.RunIperf3(t, ts, "", nil, tc.args...)
			require.NotEqual(t, 0, r.ExitCode, r.Stdout)
			require.Contains(t, r.Stdout+r.Stderr, tc.want)
			if tc.want == "" {
				return // refused by the client itself
			}
			st := ts.Last(t, 1)
			require.Equal(t, measure.CodeServerError, st.Code, "%v", st.Err)
			require.Less(t, r.Elapsed, 5*time.Second)
		})
	}
}

func TestServerBitrateCapPacesReverse(t *testing.T) {
	srv := &measure.Server{MaxBitrate: 100_000_000}
	ts := servertest.Start(t, srv, "127.0.0.1:0")
	r := servertest.RunIperf3(t, ts, "", nil, "-t", "2", "-R", "-J")
	require.Equal(t, 0, r.ExitCode, r.JSON.Error)
	require.LessOrEqual(t, r.JSON.End.SumReceived.BitsPerSecond, 105e6)
	require.Greater(t, r.JSON.End.SumReceived.BitsPerSecond, 50e6)
}

func TestServerAllow(t *testing.T) {
	srv := &measure.Server{Allow: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("fd00::/8")}}
	ts := servertest.Start(t, srv, "127.0.0.1:0")
	r := servertest.RunIperf3(t, ts, "", nil, "-t", "1")
	require.NotEqual(t, 0, r.ExitCode)
	require.Less(t, r.Elapsed, 2*time.Second)
	st := ts.Last(t, 1)
	require.Equal(t, measure.CodeAccessDenied, st.Code)
	require.Empty(t, st.Cookie, "nothing may be read from a refused client")

	srv2 := &measure.Server{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	ts2 := servertest.Start(t, srv2, "127.0.0.1:0")
	r = servertest.RunIperf3(t, ts2, "", nil, "-t", "1")
	require.Equal(t, 0, r.ExitCode, r.Stdout+r.Stderr)
}
