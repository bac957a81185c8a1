package ports

import (
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPorts(t *testing.T) {
	for _, c := range []struct {
		host string
		n    int
	}{{"127.0.0.1", 1}, {"127.0.0.1", 5}, {"::1", 2}} {
		got, err := FreeN(c.host, c.n)
		if err != nil && c.host == "::1" {
			t.Skipf("no IPv6 loopback: %v", err)
		}
		require.NoError(t, err, c.host)
		require.Len(t, got, c.n)
		seen := map[int]bool{}
		for _, p := range got {
			require.False(t, seen[p], "port %d twice", p)
			seen[p] = true
			// Free for both, as promised.
			ln, err := net.Listen("tcp", net.JoinHostPort(c.host, strconv.Itoa(p)))
			require.NoError(t, err)
			pc, err := net.ListenPacket("udp", net.JoinHostPort(c.host, strconv.Itoa(p)))
			require.NoError(t, err)
			require.True(t, Listening(p), "port %d listens but Listening says no", p)
			ln.Close()
			pc.Close()
		}
	}
}
