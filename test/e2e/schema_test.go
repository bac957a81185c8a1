//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The metric schema: the plugin README's Metrics section. The examples may
// reference only these names; TestSchemaMatchesREADME keeps this copy honest.
var (
	schemaMeasurements = []string{"iperf3", "iperf3_interval"}
	schemaTags         = []string{"server", "port", "protocol", "direction", "bidir", "result", "agent"}
	schemaFields       = []string{
		"bits_per_second", "sender_bits_per_second",
		"bytes_sent", "bytes_received",
		"duration_seconds", "streams", "retransmits",
		"rtt_ms", "rtt_min_ms", "rtt_max_ms", "rtt_var_ms", "snd_cwnd_bytes", "snd_wnd_bytes", "pmtu_bytes", "reorder",
		"idle_rtt_ms", "loaded_rtt_ms", "loaded_rtt_min_ms", "loaded_rtt_p90_ms", "loaded_rtt_max_ms", "rtt_increase_ms",
		"jitter_ms", "lost_packets", "packets", "lost_percent", "out_of_order_packets",
		"cpu_local_total_percent", "cpu_local_user_percent", "cpu_local_system_percent",
		"cpu_remote_total_percent", "cpu_remote_user_percent", "cpu_remote_system_percent",
		"result_code", "error", "slot_late_ms",
	}
	schemaResults = []string{"success", "connection_failed", "timeout", "server_busy",
		"access_denied", "auth_failed", "server_error", "protocol_error"}
)

// pluginREADME is the metric reference users read.
func pluginREADME(t *testing.T) string {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "plugins", "inputs", "iperf3", "README.md"))
	require.NoError(t, err)
	return string(b)
}

// readmeNames returns the names of the bullets under "  - kind:" of the
// measurement's block in the README's Metrics section: "    - a, b (…)"
// with continuation lines indented further.
func readmeNames(t *testing.T, readme, measurement, kind string) []string {
	i := strings.Index(readme, "\n## Metrics")
	require.GreaterOrEqual(t, i, 0, "the plugin README has no Metrics section")
	sec := readme[i+1:]
	if j := strings.Index(sec[3:], "\n## "); j >= 0 {
		sec = sec[:j+3]
	}
	b := strings.Index(sec, "\n- "+measurement+"\n")
	require.GreaterOrEqual(t, b, 0, "no %s block in the Metrics section", measurement)
	block := sec[b+1:]
	if e := strings.Index(block[2:], "\n- "); e >= 0 {
		block = block[:e+2]
	}
	k := strings.Index(block, "\n  - "+kind+":\n")
	require.GreaterOrEqual(t, k, 0, "%s has no %s list", measurement, kind)
	var bullets []string
	for _, line := range strings.Split(block[k+len(kind)+7:], "\n") {
		switch {
		case strings.HasPrefix(line, "    - "):
			bullets = append(bullets, strings.TrimPrefix(line, "    - "))
		case strings.HasPrefix(line, "      ") && len(bullets) > 0:
			bullets[len(bullets)-1] += " " + strings.TrimSpace(line)
		default:
			if len(bullets) > 0 || !strings.HasPrefix(line, "    ") {
				goto done
			}
		}
	}
done:
	var names []string
	for _, b := range bullets {
		head, _, _ := strings.Cut(b, " (")
		for n := range strings.SplitSeq(head, ",") {
			names = append(names, strings.TrimSpace(n))
		}
	}
	return names
}

// TestSchemaMatchesREADME keeps this copy of the schema equal to the
// metric reference of the plugin's README.
func TestSchemaMatchesREADME(t *testing.T) {
	readme := pluginREADME(t)
	require.ElementsMatch(t, schemaFields, readmeNames(t, readme, "iperf3", "fields"), "fields of iperf3 in the plugin README")
	require.ElementsMatch(t, schemaTags, readmeNames(t, readme, "iperf3", "tags"), "tags of iperf3 in the plugin README")
	for _, r := range schemaResults {
		require.Contains(t, readme, "`"+r+"`", "result value")
	}
}

// influxQLNames returns the identifiers an InfluxQL statement references:
// double-quoted names, and bare words that are not keywords or functions.
// Bare names are reported separately so that tests can require quoting.
func influxQLNames(q string) (quoted, bare []string) {
	keywords := map[string]bool{
		"select": true, "from": true, "where": true, "and": true, "or": true, "group": true,
		"by": true, "time": true, "fill": true, "none": true, "null": true, "as": true,
		"show": true, "tag": true, "values": true, "with": true, "key": true, "order": true,
		"desc": true, "asc": true, "limit": true, "now": true, "previous": true, "linear": true,
	}
	functions := map[string]bool{
		"mean": true, "median": true, "max": true, "min": true, "count": true, "last": true,
		"first": true, "sum": true, "percentile": true, "spread": true, "stddev": true,
		"derivative": true, "non_negative_derivative": true, "difference": true,
	}
	tok := regexp.MustCompile(`"([^"]*)"|'(?:[^'\\]|\\.)*'|/(?:[^/\\]|\\.)*/|\$[A-Za-z_][A-Za-z0-9_]*|[0-9]+(?:\.[0-9]+)?[a-z]*|([A-Za-z_][A-Za-z0-9_]*)|\S`)
	for _, m := range tok.FindAllStringSubmatch(q, -1) {
		switch {
		case strings.HasPrefix(m[0], `"`):
			quoted = append(quoted, m[1])
		case m[2] != "":
			w := strings.ToLower(m[2])
			if !keywords[w] && !functions[w] {
				bare = append(bare, m[2])
			}
		}
	}
	return quoted, bare
}

// checkInfluxQLNames fails when q references a name outside the schema.
// Aliases (AS "x") are allowed when listed in aliases.
func checkInfluxQLNames(t *testing.T, q string, aliases ...string) {
	t.Helper()
	quoted, bare := influxQLNames(q)
	require.Empty(t, bare, "unquoted identifiers in %q (quote names: \"server\")", q)
	require.NotEmpty(t, quoted, "no identifiers found in %q", q)
	known := slices.Concat(schemaMeasurements, schemaTags, schemaFields, aliases)
	for _, name := range quoted {
		require.Contains(t, known, name, "%q references %q, which is not in the metric schema (the plugin README)", q, name)
	}
}

func TestInfluxQLNames(t *testing.T) {
	q, b := influxQLNames(`SELECT mean("bits_per_second") AS "x" FROM "iperf3" WHERE "result" = 'suc"cess' AND "server" =~ /^$server$/ AND $timeFilter AND time > now() - 1h GROUP BY time($__interval), "server" fill(none)`)
	sort.Strings(q)
	require.Equal(t, []string{"bits_per_second", "iperf3", "result", "server", "server", "x"}, q)
	require.Empty(t, b)
	_, b = influxQLNames(`SELECT mean(bits_per_second) FROM iperf3`)
	require.Equal(t, []string{"bits_per_second", "iperf3"}, b)
}
