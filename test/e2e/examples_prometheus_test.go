//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/testenv"

	"github.com/stretchr/testify/require"
)

// promtool checks the alert rules and runs their unit tests.
func TestExamplePrometheusRules(t *testing.T) {
	promtool := testenv.RequireTool(t, "promtool")
	dir := examplePath(t, "prometheus")

	out, code := runCmd(t, time.Minute, dir, nil, promtool, "check", "rules", "iperf3.rules.yml")
	require.Equal(t, 0, code, "promtool check rules:\n%s", out)
	require.Contains(t, out, "SUCCESS")

	out, code = runCmd(t, 2*time.Minute, dir, nil, promtool, "test", "rules", "iperf3.rules.test.yml")
	require.Equal(t, 0, code, "promtool test rules:\n%s", out)
	require.Contains(t, out, "SUCCESS")

	// Every metric the rules use is in docs/prometheus.md's table of the
	// exporter's names, and that table covers every field of the schema.
	names := promMetricTable(t)
	rules := readExample(t, "prometheus/iperf3.rules.yml")
	metrics := regexp.MustCompile(`\b(iperf3_[a-z_]+)\{`).FindAllStringSubmatch(rules, -1)
	require.NotEmpty(t, metrics)
	for _, m := range metrics {
		require.Contains(t, names, m[1], "%s is not in docs/prometheus.md's metric table", m[1])
	}
	for _, f := range schemaFields {
		_, ok := names[f]
		require.True(t, ok || f == "error", "schema field %s has no row in docs/prometheus.md's metric table", f)
	}
	// And every label matcher names a schema tag.
	for _, m := range regexp.MustCompile(`[{,]\s*([a-z_]+)\s*(?:=|!=|=~|!~)\s*"`).FindAllStringSubmatch(rules, -1) {
		require.Contains(t, schemaTags, m[1], "label %q is not a tag of the schema", m[1])
	}
}

// promMetricTable reads the "field | Prometheus | unit" table of
// docs/prometheus.md: each Prometheus name, and each field, maps to the
// other ("" where a row has none).
func promMetricTable(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "prometheus.md"))
	require.NoError(t, err)
	out := map[string]string{}
	row := regexp.MustCompile("(?m)^\\| (?:`([a-z0-9_]+)`|—) \\| `(iperf3_[a-z0-9_]+)` \\|")
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		if strings.HasPrefix(m[1], "iperf3_") {
			continue // the table that maps iperf3_exporter's names
		}
		out[m[2]] = m[1]
		if m[1] != "" {
			out[m[1]] = m[2]
		}
	}
	require.GreaterOrEqual(t, len(out), 40, "the metric table of docs/prometheus.md")
	return out
}
