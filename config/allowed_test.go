package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAllowsTarget(t *testing.T) {
	allowed := []string{"iperf.example.net", "192.0.2.7:5202", "198.51.100.0/24", "[2001:db8::1]", "fd00::/8"}
	cases := []struct {
		host string
		port int
		want bool
	}{
		{"iperf.example.net", 5201, true},
		{"IPERF.example.net.", 9999, true}, // any port, case and final dot ignored
		{"other.example.net", 5201, false},
		{"192.0.2.7", 5202, true},
		{"192.0.2.7", 5201, false}, // only the port named
		{"198.51.100.9", 5201, true},
		{"198.51.101.9", 5201, false},
		{"2001:db8::1", 5201, true},
		{"fd00::42", 1, true},
		{"::ffff:198.51.100.1", 5201, true}, // a mapped address is its IPv4 one
		{"127.0.0.1", 5201, false},
	}
	tbl := Table{AllowedTargets: allowed}
	for _, c := range cases {
		require.Equal(t, c.want, tbl.AllowsTarget(c.host, c.port), "%s:%d", c.host, c.port)
	}
	require.True(t, (&Table{}).AllowsTarget("anything", 1), "empty allowed_targets allows any target")
}

func TestAllowedTargetsValidation(t *testing.T) {
	cases := map[string]string{
		`"192.0.2.0/33"`:     `inputs.iperf3[0]: allowed_targets[0] = "192.0.2.0/33": not a CIDR; allowed ` + allowedTarget,
		`"http://x"`:         `inputs.iperf3[0]: allowed_targets[0] = "http://x": a URL, not a host; allowed ` + allowedTarget,
		`"fd00::1"`:          `inputs.iperf3[0]: allowed_targets[0] = "fd00::1": IPv6 addresses need brackets; allowed ` + allowedTarget,
		`"a.example:70000"`:  `inputs.iperf3[0]: allowed_targets[0] = "a.example:70000": port "70000" out of range 1..65535; allowed ` + allowedTarget,
		`"ok.example", 3`:    `inputs.iperf3[0]: line 3: allowed_targets = ["ok.example", 3]: allowed ` + allowedTarget,
		`"a.example:5202"`:   ``,
		`"[fd00::1]:5202"`:   ``,
		`"198.51.100.0/24"`:  ``,
		`"a.example", "b.b"`: ``,
	}
	for list, want := range cases {
		_, err := Parse([]byte("[[inputs.iperf3]]\n  servers = [\"x.example\"]\n  allowed_targets = [" + list + "]\n"))
		if want == "" {
			require.NoError(t, err, list)
			continue
		}
		require.EqualError(t, err, want, list)
	}
}

// A table with an alias and no servers is a /probe module only; alias is
// accepted by Load (Telegraf reads it too, before the plugin).
func TestAliasModuleTable(t *testing.T) {
	tables, err := Parse([]byte("[[inputs.iperf3]]\n  alias = \"udp\"\n  protocol = \"udp\"\n  allowed_targets = [\"192.0.2.0/24\"]\n"))
	require.NoError(t, err)
	require.Len(t, tables, 1)
	require.Equal(t, "udp", tables[0].Alias)
	require.Empty(t, tables[0].Targets())

	_, err = Parse([]byte("[[inputs.iperf3]]\n  protocol = \"udp\"\n"))
	require.ErrorContains(t, err, "servers = []")
}
