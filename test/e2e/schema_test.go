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

// The metric schema of DESIGN.md ("Metrics"). The examples may reference only
// these names; TestSchemaMatchesDesign keeps this copy honest.
var (
	schemaMeasurements = []string{"iperf3", "iperf3_interval"}
	schemaTags         = []string{"server", "port", "protocol", "direction", "bidir", "result"}
	schemaFields       = []string{
		"bits_per_second", "sender_bits_per_second",
		"bytes_sent", "bytes_received",
		"duration_seconds", "streams", "retransmits",
		"rtt_ms", "rtt_min_ms", "rtt_max_ms", "snd_cwnd_bytes",
		"idle_rtt_ms", "loaded_rtt_ms", "rtt_increase_ms",
		"jitter_ms", "lost_packets", "packets", "lost_percent", "out_of_order_packets",
		"cpu_local_total_percent", "cpu_local_user_percent", "cpu_local_system_percent",
		"cpu_remote_total_percent", "cpu_remote_user_percent", "cpu_remote_system_percent",
		"result_code", "error",
	}
	// schemaLatencyDetail spreads loaded_rtt_ms: fields beyond DESIGN.md's
	// table, which names only the headline latency fields.
	schemaLatencyDetail = []string{"loaded_rtt_min_ms", "loaded_rtt_p90_ms", "loaded_rtt_max_ms"}
	schemaResults       = []string{"success", "connection_failed", "timeout", "server_busy",
		"access_denied", "auth_failed", "server_error", "protocol_error"}
)

// designPath finds DESIGN.md in the shared directory beside the repository
// (CI clones the repository next to it).
func designPath(t *testing.T) string {
	for _, p := range []string{
		filepath.Join(repoRoot(t), "..", "shared", "DESIGN.md"),
		filepath.Join(repoRoot(t), "docs", "DESIGN.md"),
	} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

func TestSchemaMatchesDesign(t *testing.T) {
	p := designPath(t)
	if p == "" {
		t.Skip("DESIGN.md not found beside the repository (../shared/DESIGN.md)")
	}
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	design := string(b)
	i := strings.Index(design, "## Metrics")
	require.GreaterOrEqual(t, i, 0, "DESIGN.md has no Metrics section")
	metrics := design[i:]
	if j := strings.Index(metrics[3:], "\n## "); j >= 0 {
		metrics = metrics[:j+3]
	}

	// Fields: first column of the table, plus the error string field.
	var fields []string
	row := regexp.MustCompile(`(?m)^\| ([a-z0-9_, ]+) \|`)
	for _, m := range row.FindAllStringSubmatch(metrics, -1) {
		for f := range strings.SplitSeq(m[1], ",") {
			if f = strings.TrimSpace(f); f != "field" {
				fields = append(fields, f)
			}
		}
	}
	require.Contains(t, metrics, "`error` string field")
	fields = append(fields, "error")
	require.ElementsMatch(t, schemaFields, fields, "fields in DESIGN.md's table")

	// Tags: the backticked names in the "Tags:" paragraph.
	tagPara := metrics[strings.Index(metrics, "Tags:"):]
	tagPara = tagPara[:strings.Index(tagPara, "\n\n")]
	var tags []string
	for _, m := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(tagPara, -1) {
		tags = append(tags, m[1])
	}
	require.ElementsMatch(t, schemaTags, tags, "tags in DESIGN.md")

	for _, r := range schemaResults {
		require.Contains(t, metrics, r, "result value")
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
	known := slices.Concat(schemaMeasurements, schemaTags, schemaFields, schemaLatencyDetail, aliases)
	for _, name := range quoted {
		require.Contains(t, known, name, "%q references %q, which is not in the metric schema (DESIGN.md)", q, name)
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
