package measure_test

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
	"github.com/iperfmon/iperfmon/internal/servertest"
	"github.com/iperfmon/iperfmon/measure"
	"github.com/stretchr/testify/require"
)

func TestServerCancelTerminatesRunningTests(t *testing.T) {
	for _, args := range [][]string{{"-t", "10"}, {"-t", "10", "-R"}, {"-t", "10", "-u", "-b", "10M"}} {
		t.Run(args[len(args)-1], func(t *testing.T) {
			srv := &measure.Server{MaxTests: 2}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ln, err := measure.Listen(ctx, "127.0.0.1:0")
			require.NoError(t, err)
			var rec atomic.Pointer[measure.ServedTest]
			srv.OnResult = func(st measure.ServedTest) { rec.Store(&st) }
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ctx, ln) }()
			ts := &servertest.Server{Srv: srv, Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}

			wait, _ := servertest.StartIperf3(t, ts, "", nil, args...)
			ts.WaitActive(t, 1)
			time.Sleep(300 * time.Millisecond) // into the data phase
			cancel()
			r := wait()
			require.NotEqual(t, 0, r.ExitCode)
			require.Contains(t, r.Stdout+r.Stderr, "the server has terminated")
			require.Less(t, r.Elapsed, 5*time.Second)
			select {
			case err := <-done:
				require.ErrorIs(t, err, measure.ErrServerClosed)
			case <-time.After(5 * time.Second):
				t.Fatal("Serve did not return after cancel")
			}
			st := rec.Load()
			require.NotNil(t, st)
			require.ErrorIs(t, st.Err, measure.ErrServerEnded)
		})
	}
}

func TestServerShutdownWaitsForTests(t *testing.T) {
	srv := &measure.Server{}
	ts := servertest.Start(t, srv, "127.0.0.1:0")
	wait, _ := servertest.StartIperf3(t, ts, "", nil, "-t", "2")
	ts.WaitActive(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx))
	r := wait()
	require.Equal(t, 0, r.ExitCode, r.Stdout+r.Stderr)
	require.ErrorIs(t, <-ts.Done, measure.ErrServerClosed)
	ts.Done <- measure.ErrServerClosed // for the cleanup's check
	_, err := net.DialTimeout("tcp", ts.Addr(), time.Second)
	require.Error(t, err, "the listener must be closed")
}

func TestServerShutdownDeadlineTerminates(t *testing.T) {
	srv := &measure.Server{Logger: servertest.Logger(t)}
	ts := servertest.Start(t, srv, "127.0.0.1:0")
	wait, _ := servertest.StartIperf3(t, ts, "", nil, "-t", "10")
	ts.WaitActive(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, srv.Shutdown(ctx), context.DeadlineExceeded)
	r := wait()
	require.Contains(t, r.Stdout+r.Stderr, "the server has terminated")
}

func TestServerOneOff(t *testing.T) {
	srv := &measure.Server{OneOff: true}
	ctx := t.Context()
	ln, err := measure.Listen(ctx, "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	ts := &servertest.Server{Srv: srv, Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}
	r := servertest.RunIperf3(t, ts, "", nil, "-t", "1")
	require.Equal(t, 0, r.ExitCode, r.Stdout+r.Stderr)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("one-off Serve did not return after its test")
	}
}

// flakyListener fails its first Accepts with EMFILE, as a process out of
// descriptors does.
type flakyListener struct {
	net.Listener
	fails atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

func TestServerAcceptBacksOffOnEMFILE(t *testing.T) {
	ln, err := measure.Listen(t.Context(), "127.0.0.1:0")
	require.NoError(t, err)
	fl := &flakyListener{Listener: ln}
	fl.fails.Store(6) // 5+10+20+40+80+160 ms of backoff
	srv := &measure.Server{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- srv.Serve(ctx, fl) }()
	ts := &servertest.Server{Srv: srv, Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}
	r := servertest.RunIperf3(t, ts, "", nil, "-t", "1")
	require.Equal(t, 0, r.ExitCode, r.Stdout+r.Stderr)
	require.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "no backoff")
	cancel()
	require.ErrorIs(t, <-done, measure.ErrServerClosed)

	// A permanent error ends Serve with that error.
	ln2, err := measure.Listen(t.Context(), "127.0.0.1:0")
	require.NoError(t, err)
	ln2.Close()
	err = (&measure.Server{}).Serve(t.Context(), ln2)
	require.Error(t, err)
	require.False(t, errors.Is(err, measure.ErrServerClosed))
}

// Streams of a test in CREATE_STREAMS still connect during a graceful
// shutdown; new clients get the busy answer.
func TestServerShutdownKeepsStreamsFlowing(t *testing.T) {
	srv := &measure.Server{MaxTests: 2}
	ts := servertest.Start(t, srv, "127.0.0.1:0")
	rc := servertest.DialRaw(t, ts)
	rc.SendCookie()
	rc.ExpectState(iperf3wire.ParamExchange)
	rc.SendJSON(servertest.TCPParams(1, 1))
	rc.ExpectState(iperf3wire.CreateStreams)

	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	r := servertest.RunIperf3(t, ts, "", nil, "-t", "1")
	require.Contains(t, r.Output(), "the server is busy running a test")

	rc.Stream(rc.Cookie)
	rc.ExpectState(iperf3wire.TestStart)
	rc.ExpectState(iperf3wire.TestRunning)
	rc.C.Close()
	select {
	case err := <-shut:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return after the last test")
	}
	require.ErrorIs(t, <-ts.Done, measure.ErrServerClosed)
	ts.Done <- measure.ErrServerClosed // for the cleanup's check
}
