//go:build linux

package e2e

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/config"
)

// examples/iperfmon.toml loads with the same loader as `iperfmon once/run`,
// and so does the loopback adaptation the pipeline tests use.
func TestExampleIperfmonConfig(t *testing.T) {
	tables, err := config.Load(examplePath(t, "iperfmon.toml"))
	require.NoError(t, err)
	require.Len(t, tables, 2)

	tcp := tables[0]
	require.Equal(t, []string{"iperf.example.net", "192.0.2.7:5202"}, tcp.Servers)
	require.Equal(t, "*/15 * * * *", tcp.Schedule)
	require.Equal(t, "tcp", tcp.Protocol)
	require.Equal(t, []string{"forward", "reverse"}, tcp.Directions)
	require.Equal(t, 10*time.Second, time.Duration(tcp.Duration))
	require.Len(t, tcp.Targets(), 4, "2 servers x 2 directions")

	udp := tables[1]
	require.Equal(t, "udp", udp.Protocol)
	require.Equal(t, "@hourly", udp.Schedule)
	require.EqualValues(t, 10_000_000, udp.Bitrate)
	require.EqualValues(t, 1200, udp.Length)

	adapted, err := os.ReadFile(exampleIperfmonConfig(t, "127.0.0.1:5201"))
	require.NoError(t, err)
	tables, err = config.Parse(adapted)
	require.NoError(t, err, "%s", adapted)
	require.Len(t, tables, 2)
	for _, tb := range tables {
		require.Equal(t, []string{"127.0.0.1:5201"}, tb.Servers)
	}
}
