package measure_test

import (
	"testing"

	"github.com/iperfmon/iperfmon/internal/servertest"
	"github.com/iperfmon/iperfmon/measure"
	"github.com/stretchr/testify/require"
)

// Stock iperf3 (Debian's 3.12) as the client against measure.Server. The
// full interop matrix is in test/serverinterop; these are smoke tests.

func TestServerStockSmoke(t *testing.T) {
	ts := servertest.Start(t, &measure.Server{}, "127.0.0.1:0")
	for i, args := range [][]string{
		{"-t", "1"},
		{"-t", "1", "-u", "-b", "100M", "-l", "1400", "-R"},
	} {
		r := servertest.RunIperf3(t, ts, "", nil, append(args, "-J")...)
		require.Equal(t, 0, r.ExitCode, r.Output())
		st := ts.Last(t, i+1)
		require.NoError(t, st.Err)
		require.NotNil(t, st.Result)
		d := st.Result.Directions[0]
		servertest.Within(t, r.JSON.End.SumReceived.Bytes, float64(d.Sum.ReceiverBytes), 1, "receiver bytes")
		servertest.Within(t, r.JSON.End.SumSent.Bytes, float64(d.Sum.SenderBytes), 1, "sender bytes")
	}
}

func TestServerGetServerOutput(t *testing.T) {
	ts := servertest.Start(t, &measure.Server{}, "127.0.0.1:0")
	r := servertest.RunIperf3(t, ts, "", nil, "-t", "1", "-P", "2", "--get-server-output")
	require.Equal(t, 0, r.ExitCode, r.Stderr)
	require.Contains(t, r.Stdout, "Server output:")
	require.Contains(t, r.Stdout, "Accepted connection from 127.0.0.1")
	require.Regexp(t, `\[SUM\]\s+0\.00-1\.\d\d\s+sec\s+[\d.]+ [KMG]Bytes\s+[\d.]+ [KMG]bits/sec\s+receiver`, r.Stdout)

	r = servertest.RunIperf3(t, ts, "", nil, "-t", "1", "-u", "-b", "10M", "--get-server-output", "-J")
	require.Equal(t, 0, r.ExitCode, r.Stderr)
	require.Contains(t, r.JSON.ServerOutputText, "Lost/Total Datagrams")
	require.Contains(t, r.JSON.ServerOutputText, "receiver")

	r = servertest.RunIperf3(t, ts, "", nil, "-t", "1", "-R", "--get-server-output")
	require.Equal(t, 0, r.ExitCode, r.Stderr)
	require.Regexp(t, `(?m)^\[\s*1\]\s+0\.00-1\.\d\d\s+sec.*sender$`, r.Stdout)
}
