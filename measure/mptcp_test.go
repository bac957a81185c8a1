package measure_test

import (
	"context"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/servertest"
	"github.com/iperfmon/iperfmon/measure"
	"github.com/stretchr/testify/require"
)

// -m: our client and server over Multipath TCP on loopback, and the
// client's fallback to plain TCP against a server that does not take it
// (as iperf3's client falls back).
func TestMPTCP(t *testing.T) {
	if err := measure.MPTCPAvailable(); err != nil {
		t.Skipf("skipped: this host has no usable MPTCP: %v", err)
	}
	cases := []struct {
		name        string
		serverMPTCP bool
		test        measure.Test
	}{
		{"mptcp", true, measure.Test{}},
		{"mptcp reverse -P 2", true, measure.Test{Reverse: true, Parallel: 2}},
		{"mptcp bidir", true, measure.Test{Bidir: true}},
		{"plain server: fallback", false, measure.Test{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			listen := measure.Listen
			if tc.serverMPTCP {
				listen = measure.ListenMPTCP
			}
			ln, err := listen(context.Background(), "127.0.0.1:0")
			require.NoError(t, err)
			ts := servertest.StartOn(t, &measure.Server{}, ln)
			test := tc.test
			test.Host, test.Port, test.MPTCP = ts.Host, ts.Port, true
			test.Duration, test.Bitrate = time.Second, 200e6
			res, err := (&measure.Client{}).Run(context.Background(), test)
			require.NoError(t, err)
			require.Equal(t, tc.serverMPTCP, res.MPTCP, "client: data streams over MPTCP")
			st := ts.WaitResults(t, 1, 10*time.Second)[0]
			require.NoError(t, st.Err)
			require.Equal(t, tc.serverMPTCP, st.Result.MPTCP, "server: data streams over MPTCP")
			for i, d := range res.Directions {
				require.Positive(t, d.Sum.ReceiverBytes)
				require.Equal(t, d.Sum.ReceiverBytes, st.Result.Directions[i].Sum.ReceiverBytes, "both ends count the same bytes")
			}
		})
	}
}
