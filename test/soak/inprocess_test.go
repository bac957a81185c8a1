package soak

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
	"github.com/iperfmon/iperfmon/internal/leakcheck"
	"github.com/iperfmon/iperfmon/measure"
)

// kind is one sort of soak test: how to build it, which server it goes
// to, and what it must end with.
type kind struct {
	name   string
	busy   bool // to the server whose only slot is held
	abort  bool // cancelled a few ms in
	want   measure.ResultCode
	wantSE int32 // the server error number, for refusals by limit
	tweak  func(*measure.Test)
}

// Tests end by byte or block count, so that each takes milliseconds.
func tcpBytes(t *measure.Test) { t.Bytes = 256 << 10; t.Length = 16 << 10 }
func udpBlocks(t *measure.Test) {
	t.Protocol = measure.UDP
	t.Blocks = 40
	t.Length = 1200
	t.Bitrate = 1 << 30 // paced, but 40 datagrams at 1 Gbit/s take well under a millisecond
}

var kinds = []kind{
	{name: "tcp", tweak: tcpBytes},
	{name: "tcp-reverse", tweak: func(t *measure.Test) { tcpBytes(t); t.Reverse = true }},
	{name: "tcp-bidir", tweak: func(t *measure.Test) { tcpBytes(t); t.Bidir = true }},
	{name: "tcp-parallel", tweak: func(t *measure.Test) { tcpBytes(t); t.Parallel = 3 }},
	{name: "udp", tweak: udpBlocks},
	{name: "udp-reverse", tweak: func(t *measure.Test) { udpBlocks(t); t.Reverse = true }},
	{name: "udp-bidir", tweak: func(t *measure.Test) { udpBlocks(t); t.Bidir = true }},
	{name: "tcp", tweak: tcpBytes},
	{name: "udp-reverse", tweak: func(t *measure.Test) { udpBlocks(t); t.Reverse = true }},
	{name: "abort-tcp", abort: true, tweak: func(t *measure.Test) { t.Duration = 10 * time.Second; t.Bitrate = 100 << 20 }},
	{name: "abort-udp-reverse", abort: true, tweak: func(t *measure.Test) {
		t.Protocol = measure.UDP
		t.Reverse = true
		t.Duration = 10 * time.Second
	}},
	{name: "refused-parallel", want: measure.CodeServerError, wantSE: iperf3wire.IENUMSTREAMS,
		tweak: func(t *measure.Test) { tcpBytes(t); t.Parallel = soakMaxParallel + 1 }},
	{name: "refused-duration", want: measure.CodeServerError, wantSE: iperf3wire.IEDURATION,
		tweak: func(t *measure.Test) { t.Duration = 2 * soakMaxDuration }},
	{name: "refused-busy", busy: true, want: measure.CodeServerBusy, tweak: tcpBytes},
}

const (
	soakWorkers     = 4
	soakMaxParallel = 4
	soakMaxDuration = time.Minute
)

// soakTests is how many tests the in-process soak runs: SOAK_TESTS, 1000
// by default, 100 with -short.
func soakTests(t *testing.T) int {
	if s := os.Getenv("SOAK_TESTS"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err, "SOAK_TESTS")
		return n
	}
	if testing.Short() {
		return 100
	}
	return 1000
}

// startServer serves srv on a loopback port until the test ends.
func startServer(t *testing.T, srv *measure.Server) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		_ = srv.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("server did not stop")
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

// TestSoakInProcess runs 1,000 short tests of every kind between our
// client and our server, four at a time, then checks that every one ended
// as it should and that goroutines, descriptors and heap are back at the
// baseline taken before the first test.
func TestSoakInProcess(t *testing.T) {
	var served, refusedBusy atomic.Int64
	srv := &measure.Server{
		MaxTests:    2 * soakWorkers, // never busy for the workers themselves
		MaxParallel: soakMaxParallel,
		MaxDuration: soakMaxDuration,
		IdleTimeout: 3 * time.Second,
		OnResult:    func(measure.ServedTest) { served.Add(1) },
	}
	port := startServer(t, srv)

	// The busy server's only slot is held by a connection that sent its
	// cookie and then waits; its idle timeout outlasts the soak.
	busySrv := &measure.Server{MaxTests: 1, IdleTimeout: 10 * time.Minute,
		OnResult: func(st measure.ServedTest) {
			if st.Code == measure.CodeServerBusy {
				refusedBusy.Add(1)
			}
		}}
	busyPort := startServer(t, busySrv)
	holder, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(busyPort)))
	require.NoError(t, err)
	_, err = holder.Write(append([]byte(iperf3wire.NewCookie()), 0))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return busySrv.Active() == 1 }, 5*time.Second, 5*time.Millisecond)
	defer holder.Close()

	// One warm-up test per kind so that lazily started runtime goroutines
	// and pools are part of the baseline.
	for _, k := range kinds {
		if !k.abort && !k.busy {
			runOne(t, k, port, busyPort)
		}
	}
	base := leakcheck.Take()
	t.Logf("baseline: %s", base)

	n := soakTests(t)
	start := time.Now()
	var next atomic.Int64
	var mu sync.Mutex
	counts := map[string]int{}
	failures := []string{}
	var wg sync.WaitGroup
	for range soakWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				k := kinds[i%len(kinds)]
				err := runOne(t, k, port, busyPort)
				mu.Lock()
				counts[k.name]++
				if err != nil {
					failures = append(failures, fmt.Sprintf("test %d (%s): %v", i, k.name, err))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	t.Logf("%d tests in %s (%.1f ms each, %d at a time): %v", n, took.Round(time.Millisecond),
		float64(took.Milliseconds())/float64(n)*soakWorkers, soakWorkers, counts)
	require.Empty(t, failures, "%d of %d tests did not end as they should", len(failures), n)

	// Every test the server accepted reached OnResult and freed its slot.
	require.Eventually(t, func() bool { return srv.Active() == 0 }, 10*time.Second, 10*time.Millisecond, "tests still active")
	busyTests := int64(counts["refused-busy"])
	require.Equal(t, busyTests, refusedBusy.Load(), "busy refusals the busy server reported")
	require.GreaterOrEqual(t, served.Load(), int64(n)-busyTests, "tests the server reported")

	end := leakcheck.Settle(t, base, 2, 8<<20, 20*time.Second)
	t.Logf("after:    %s", end)
}

// runOne runs one test of kind k and says what was wrong with its outcome.
func runOne(t *testing.T, k kind, port, busyPort int) error {
	test := measure.Test{Host: "127.0.0.1", Port: port, Timeout: 20 * time.Second, Interval: -1}
	if k.busy {
		test.Port = busyPort
	}
	k.tweak(&test)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if k.abort {
		// Cancel somewhere between the control handshake and the data phase.
		d := time.Duration(2+time.Now().UnixNano()%30) * time.Millisecond
		time.AfterFunc(d, cancel)
	}
	began := time.Now()
	res, err := (&measure.Client{}).Run(ctx, test)
	took := time.Since(began)
	code := measure.Classify(err)
	switch {
	case k.abort:
		if err == nil {
			return fmt.Errorf("a 10 s test cancelled after a few ms succeeded in %s", took)
		}
		if took > 3*time.Second {
			return fmt.Errorf("cancelled test returned only after %s: %v", took, err)
		}
		if !errors.Is(err, context.Canceled) && code != measure.CodeTimeout {
			return fmt.Errorf("cancelled test: want a cancellation, got %s: %v", code, err)
		}
		return nil
	case code != k.want:
		return fmt.Errorf("want %s, got %s after %s: %v", k.want, code, took, err)
	case k.wantSE != 0:
		var se *measure.ServerError
		if !errors.As(err, &se) || se.Num != k.wantSE {
			return fmt.Errorf("want server error %d, got %v", k.wantSE, err)
		}
	case k.want == measure.CodeSuccess:
		if res == nil || len(res.Directions) == 0 {
			return fmt.Errorf("success without results: %+v", res)
		}
		if took > 5*time.Second {
			return fmt.Errorf("a millisecond test took %s", took)
		}
	}
	return nil
}
