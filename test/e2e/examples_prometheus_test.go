//go:build linux

package e2e

import (
	"regexp"
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

	// Every metric the rules use is a schema field with the iperf3_ prefix.
	rules := readExample(t, "prometheus/iperf3.rules.yml")
	metrics := regexp.MustCompile(`\biperf3_([a-z_]+)\{`).FindAllStringSubmatch(rules, -1)
	require.NotEmpty(t, metrics)
	for _, m := range metrics {
		require.Contains(t, schemaFields, m[1], "iperf3_%s is not a field of the schema", m[1])
	}
	// And every label matcher names a schema tag.
	for _, m := range regexp.MustCompile(`[{,]\s*([a-z_]+)\s*(?:=|!=|=~|!~)\s*"`).FindAllStringSubmatch(rules, -1) {
		require.Contains(t, schemaTags, m[1], "label %q is not a tag of the schema", m[1])
	}
}
