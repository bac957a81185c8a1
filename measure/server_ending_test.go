package measure_test

import (
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
	"github.com/iperfmon/iperfmon/internal/servertest"
	"github.com/iperfmon/iperfmon/measure"
	"github.com/stretchr/testify/require"
)

// toEnding plays a one-stream TCP test up to the point where the client has
// the server's results and owes IPERF_DONE.
func toEnding(t *testing.T, ts *servertest.Server) *servertest.RawClient {
	t.Helper()
	rc, s := servertest.ToRunning(t, ts, 1)
	_, err := s.Write(make([]byte, 64<<10))
	require.NoError(t, err)
	rc.SendState(iperf3wire.TestEnd)
	rc.ExpectState(iperf3wire.ExchangeResults)
	rc.SendJSON(iperf3wire.Results{CPUUtilTotal: 1, CPUUtilUser: 0.5, CPUUtilSystem: 0.5,
		Streams: []iperf3wire.StreamResults{{ID: 1, Bytes: 64 << 10, EndTime: 1}}})
	var theirs iperf3wire.Results
	require.NoError(t, iperf3wire.ReadJSON(rc.C, 1<<20, &theirs))
	rc.ExpectState(iperf3wire.DisplayResults)
	return rc
}

// A client that connects while the previous test is saying goodbye (results
// out, IPERF_DONE not yet read) waits for that slot instead of being told
// the server is busy; if the goodbye never comes it is told, after a bound.
func TestServerNextClientWaitsForEndingTest(t *testing.T) {
	srv := &measure.Server{MaxTests: 1, IdleTimeout: 5 * time.Second, Logger: servertest.Logger(t)}
	ts := servertest.Start(t, srv, "127.0.0.1:0")

	t.Run("goodbye-comes", func(t *testing.T) {
		first := toEnding(t, ts)
		next := servertest.DialRaw(t, ts)
		next.SendCookie()
		const delay = 300 * time.Millisecond
		time.Sleep(delay)
		began := time.Now()
		first.SendState(iperf3wire.IperfDone)
		next.ExpectState(iperf3wire.ParamExchange)
		require.Less(t, time.Since(began), 900*time.Millisecond, "the slot came free but the next client was not let in")
		next.C.Close()
		ts.WaitActive(t, 0)
	})
	t.Run("goodbye-never-comes", func(t *testing.T) {
		first := toEnding(t, ts)
		next := servertest.DialRaw(t, ts)
		began := time.Now()
		next.SendCookie()
		state, err := iperf3wire.ReadState(next.C)
		require.NoError(t, err)
		require.Equal(t, iperf3wire.AccessDenied, state)
		waited := time.Since(began)
		require.GreaterOrEqual(t, waited, 900*time.Millisecond, "busy answer before the grace ran out")
		require.Less(t, waited, 3*time.Second)
		first.C.Close()
		ts.WaitActive(t, 0)
	})
	t.Run("no-test-ending-means-busy-at-once", func(t *testing.T) {
		rc, _ := servertest.ToRunning(t, ts, 10)
		next := servertest.DialRaw(t, ts)
		began := time.Now()
		state, err := iperf3wire.ReadState(next.C)
		require.NoError(t, err)
		require.Equal(t, iperf3wire.AccessDenied, state)
		require.Less(t, time.Since(began), 500*time.Millisecond)
		rc.C.Close()
		ts.WaitActive(t, 0)
	})
}
