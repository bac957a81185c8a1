package serverinterop

import (
	"testing"

	"github.com/iperfmon/iperfmon/internal/servertest"
	"github.com/iperfmon/iperfmon/measure"
	"github.com/stretchr/testify/require"
)

// One dual-stack listener serves IPv4 and IPv6 clients, TCP and UDP.
func TestStockDualStack(t *testing.T) {
	ts := servertest.Start(t, &measure.Server{}, ":0")
	cases := []struct {
		host string
		args []string
		v6   bool
	}{
		{"127.0.0.1", []string{"-t", "1"}, false},
		{"127.0.0.1", []string{"-t", "1", "-u", "-b", "50M", "-l", "1400", "-R"}, false},
		{"::1", []string{"-6", "-t", "1", "-P", "2"}, true},
		{"::1", []string{"-6", "-t", "1", "-u", "-b", "50M", "-l", "1400", "--bidir"}, true},
	}
	for i, tc := range cases {
		r := servertest.RunIperf3(t, ts, tc.host, nil, tc.args...)
		require.Equal(t, 0, r.ExitCode, "%s %v: %s", tc.host, tc.args, r.Output())
		st := ts.Last(t, i+1)
		require.Equal(t, measure.CodeSuccess, st.Code, "%v", st.Err)
		require.Equal(t, tc.v6, st.Client.Addr().Is6(), "client address %s", st.Client)
		require.True(t, st.Client.Addr().Is4() || st.Client.Addr().Is6())
	}
}

func TestStockIPv6Only(t *testing.T) {
	ts := servertest.Start(t, &measure.Server{}, "[::1]:0")
	for i, args := range [][]string{
		{"-6", "-t", "1", "-J"},
		{"-6", "-t", "1", "-u", "-b", "50M", "-l", "1400", "-R", "-J"},
	} {
		r := servertest.RunIperf3(t, ts, "", nil, args...)
		require.Equal(t, 0, r.ExitCode, r.Output())
		st := ts.Last(t, i+1)
		require.NoError(t, st.Err)
		d := st.Result.Directions[0]
		servertest.Within(t, r.JSON.End.SumReceived.Bytes, float64(d.Sum.ReceiverBytes), 1, "receiver bytes")
	}
}
