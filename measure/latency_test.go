package measure

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/icmp"

	"github.com/iperfmon/iperfmon/internal/leakcheck"
)

func TestSummarize(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	for _, tc := range []struct {
		name                  string
		rtts                  []time.Duration
		median, min, max, p90 time.Duration
	}{
		{"none", nil, 0, 0, 0, 0},
		{"one", ms(7), 7 * time.Millisecond, 7 * time.Millisecond, 7 * time.Millisecond, 7 * time.Millisecond},
		{"odd, unsorted", ms(9, 1, 5), 5 * time.Millisecond, time.Millisecond, 9 * time.Millisecond, 9 * time.Millisecond},
		{"even: mean of the middle two", ms(4, 1, 2, 3), 2500 * time.Microsecond, time.Millisecond, 4 * time.Millisecond, 4 * time.Millisecond},
		{"p90 nearest rank of ten", ms(10, 9, 8, 7, 6, 5, 4, 3, 2, 1), 5500 * time.Microsecond, time.Millisecond, 10 * time.Millisecond, 9 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := summarize(12, tc.rtts)
			require.Equal(t, RTTStats{Sent: 12, Received: len(tc.rtts), Median: tc.median, Min: tc.min, Max: tc.max, P90: tc.p90}, s)
		})
	}
}

// icmpAvailable skips (fails in CI) when this host allows no ICMP socket.
func icmpAvailable(t *testing.T) {
	t.Helper()
	c, _, err := openICMP(false, nil)
	if err != nil {
		if inCI() {
			t.Fatalf("latency probe: %v", err)
		}
		t.Skipf("latency probe: %v", err)
	}
	c.Close()
}

func inCI() bool { v, _ := strconv.ParseBool(os.Getenv("CI")); return v }

// loopbackServer serves on 127.0.0.1 (or the given loopback address) until
// the test ends.
func loopbackServer(t *testing.T, host ...string) int {
	t.Helper()
	h := "127.0.0.1"
	if len(host) > 0 {
		h = host[0]
	}
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := Listen(ctx, net.JoinHostPort(h, "0"))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- (&Server{}).Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return ln.Addr().(*net.TCPAddr).Port
}

// A TCP test with Latency on against a loopback server: both phases have
// every reply, and a sub-millisecond-ish loopback RTT.
func TestLatencyLoopback(t *testing.T) {
	icmpAvailable(t)
	for _, tc := range []struct {
		name string
		test Test
	}{
		{"forward", Test{Duration: time.Second}},
		{"reverse with omit", Test{Duration: time.Second, Omit: 300 * time.Millisecond, Reverse: true}},
		{"udp bidir", Test{Duration: time.Second, Protocol: UDP, Bidir: true, Bitrate: 10e6}},
		{"ipv6", Test{Duration: time.Second, Host: "::1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.test.Host == "" {
				tc.test.Host = "127.0.0.1"
			}
			port := loopbackServer(t, tc.test.Host)
			tc.test.Port, tc.test.Latency = port, true
			start := time.Now()
			res, err := (&Client{}).Run(context.Background(), tc.test)
			require.NoError(t, err)
			require.Less(t, time.Since(start), tc.test.Duration+tc.test.Omit+3*time.Second)
			l := res.Latency
			require.NotNil(t, l)
			require.Empty(t, l.Unavailable)
			require.Contains(t, []string{ProbeICMPUnprivileged, ProbeICMPRaw}, l.Method)
			require.Equal(t, tc.test.Host, l.Target)
			require.Equal(t, IdleProbes, l.Idle.Sent)
			require.Equal(t, IdleProbes, l.Idle.Received)
			// 10/s on average over the measured second, gaps 75-125 ms:
			// 9 to 14 probes (fewer when a busy host delays a timer).
			require.InDelta(t, 10.5, l.Loaded.Sent, 4.5)
			require.Equal(t, l.Loaded.Sent, l.Loaded.Received)
			require.True(t, l.Idle.First.Before(l.Idle.Last))
			require.True(t, l.Idle.Last.Before(l.Loaded.First))
			// The loaded window is the measured time: omit first, then -t.
			require.InDelta(t, tc.test.Duration.Seconds(), l.Loaded.Last.Sub(l.Loaded.First).Seconds(), 0.3)
			for _, s := range []RTTStats{l.Idle, l.Loaded} {
				require.Positive(t, s.Min)
				require.LessOrEqual(t, s.Min, s.Median)
				require.LessOrEqual(t, s.Median, s.P90)
				require.LessOrEqual(t, s.P90, s.Max)
				require.Less(t, s.Max, ProbeTimeout)
			}
			_, ok := l.Increase()
			require.True(t, ok)
		})
	}
}

// Without Latency no probe runs and Result.Latency is nil.
func TestLatencyOff(t *testing.T) {
	port := loopbackServer(t)
	res, err := (&Client{}).Run(context.Background(), Test{Host: "127.0.0.1", Port: port, Duration: 200 * time.Millisecond})
	require.NoError(t, err)
	require.Nil(t, res.Latency)
}

// With no ICMP socket allowed the test still succeeds, and Latency says
// why instead of carrying numbers.
func TestLatencyUnavailable(t *testing.T) {
	probeOpen = func(bool, net.IP) (*icmp.PacketConn, string, error) {
		return nil, "", errors.New("no ICMP socket: not permitted")
	}
	t.Cleanup(func() { probeOpen = openICMP })
	port := loopbackServer(t)
	res, err := (&Client{}).Run(context.Background(), Test{Host: "127.0.0.1", Port: port, Duration: 300 * time.Millisecond, Latency: true})
	require.NoError(t, err)
	require.NotNil(t, res.Latency)
	require.Contains(t, res.Latency.Unavailable, "not permitted")
	require.Zero(t, res.Latency.Idle)
	require.Zero(t, res.Latency.Loaded)
	_, ok := res.Latency.Increase()
	require.False(t, ok)
	require.Positive(t, res.Headline())
}

// The prober stops with its context: a phase without a count ends at
// once when the context is cancelled, and a silent peer costs at most
// ProbeTimeout after the last probe.
func TestLatencyStopsWithContext(t *testing.T) {
	icmpAvailable(t)
	p, err := newProber(net.ParseIP("127.0.0.1"), nil)
	require.NoError(t, err)
	defer p.close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(250*time.Millisecond, cancel)
	start := time.Now()
	s := p.phase(ctx, 0, nil)
	require.Less(t, time.Since(start), time.Second)
	require.InDelta(t, 3, s.Sent, 1)
}

// Tests with the probe, finished or cancelled in the middle, leave no
// socket, goroutine or memory behind.
func TestLatencyNoLeak(t *testing.T) {
	icmpAvailable(t)
	port := loopbackServer(t)
	run := func(cancelAfter time.Duration) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if cancelAfter > 0 {
			time.AfterFunc(cancelAfter, cancel)
		}
		_, _ = (&Client{}).Run(ctx, Test{Host: "127.0.0.1", Port: port, Duration: 300 * time.Millisecond, Latency: true})
	}
	run(0) // warm up: lazily started runtime and resolver goroutines
	base := leakcheck.Take()
	for i := range 12 {
		switch i % 3 {
		case 0:
			run(0)
		case 1:
			run(200 * time.Millisecond) // during the idle phase
		case 2:
			run(600 * time.Millisecond) // during the data phase
		}
	}
	leakcheck.Settle(t, base, 2, 4<<20, 10*time.Second)
}
