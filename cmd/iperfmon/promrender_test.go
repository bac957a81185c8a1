package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// docs/prometheus.md's metric table is what the renderer does: each row's
// field maps to its Prometheus name.
func TestPromFieldMatchesDocs(t *testing.T) {
	b, err := os.ReadFile("../../docs/prometheus.md")
	require.NoError(t, err)
	rows := regexp.MustCompile("(?m)^\\| `([a-z0-9_]+)` \\| `(iperf3_[a-z0-9_]+)` \\|").FindAllStringSubmatch(string(b), -1)
	require.GreaterOrEqual(t, len(rows), 20)
	for _, r := range rows {
		if strings.HasPrefix(r[1], "iperf3_") {
			continue // the table that maps iperf3_exporter's names
		}
		name, _ := promField(r[1])
		require.Equal(t, r[2], "iperf3_"+name, "field %s", r[1])
	}
}

// Units: the scale of each rule.
func TestPromFieldScale(t *testing.T) {
	cases := []struct {
		field, name string
		scale       float64
	}{
		{"bits_per_second", "received_bytes_per_second", 0.125},
		{"sender_bits_per_second", "sent_bytes_per_second", 0.125},
		{"idle_bits_per_second", "idle_bytes_per_second", 0.125},
		{"loaded_rtt_ms", "loaded_rtt_seconds", 0.001},
		{"lost_percent", "lost_ratio", 0.01},
		{"retransmits", "retransmits", 1},
		{"pmtu_bytes", "pmtu_bytes", 1},
	}
	for _, c := range cases {
		name, scale := promField(c.field)
		require.Equal(t, c.name, name, c.field)
		require.Equal(t, c.scale, scale, c.field)
	}
}
