//go:build linux

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// point is one row of SELECT * FROM "iperf3": tags and fields by name.
type point map[string]any

func (p point) num(t *testing.T, key string) float64 {
	t.Helper()
	v, ok := p[key].(float64) // JSON numbers
	require.True(t, ok, "field %s missing or not a number in %v", key, p)
	return v
}

// points returns every iperf3 point in database (nil while it does not exist).
func points(db *influxDB, database, where string) ([]point, error) {
	q := `SELECT * FROM "iperf3"`
	if where != "" {
		q += " WHERE " + where
	}
	ss, err := db.query(database, q)
	if err != nil {
		if strings.Contains(err.Error(), "database not found") {
			return nil, nil
		}
		return nil, err
	}
	var out []point
	for _, s := range ss {
		for _, row := range s.Values {
			p := point{}
			for i, c := range s.Columns {
				if row[i] != nil {
					p[c] = row[i]
				}
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// countBy counts points by "direction/result".
func countBy(ps []point) map[string]int {
	n := map[string]int{}
	for _, p := range ps {
		n[fmt.Sprintf("%v/%v/%v", p["protocol"], p["direction"], p["result"])]++
	}
	return n
}

// waitPoints polls InfluxDB until every key of want ("tcp/forward/success")
// has at least that many points matching where.
func waitPoints(t *testing.T, db *influxDB, database, where string, want map[string]int, timeout time.Duration, procs ...*proc) []point {
	t.Helper()
	var ps []point
	err := waitFor(context.Background(), timeout, 250*time.Millisecond, func() error {
		for _, p := range procs {
			if p.exited() {
				return fmt.Errorf("%s exited: %v", p.name, p.err)
			}
		}
		var err error
		if ps, err = points(db, database, where); err != nil {
			return err
		}
		got := countBy(ps)
		for k, n := range want {
			if got[k] < n {
				return fmt.Errorf("have %v, want at least %v", got, want)
			}
		}
		return nil
	})
	require.NoError(t, err)
	return ps
}

// pipelineSchedule replaces the example's 15-minute TCP schedule. A run of
// that table is two 1 s tests one after the other (plus ~1.5 s each of
// refused-connection retries once the server is down); the schedule must
// leave room for them on a loaded machine, or the scheduler rightly skips
// the reverse test that cannot start before the next run is due.
const pipelineSchedule = "@every 5s"

// exampleIperfmonConfig adapts examples/iperfmon.toml to a loopback server
// and short tests: the tables, keys and directions stay the example's. The
// UDP table keeps its hourly schedule, so run and the plugin test TCP only;
// once runs every table.
func exampleIperfmonConfig(t *testing.T, addr string) string {
	t.Helper()
	conf := readExample(t, "iperfmon.toml")
	conf = replaceAll(t, conf, `schedule = "*/15 * * * *"`, fmt.Sprintf("schedule = %q", pipelineSchedule))
	conf = replaceLines(t, conf, map[string]string{
		"servers =":  fmt.Sprintf("servers = [%q]", addr),
		"splay =":    `splay = "0s"`,
		"duration =": `duration = "1s"`,
		"omit =":     `omit = "0s"`,
	})
	path := filepath.Join(t.TempDir(), "iperfmon.toml")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o644))
	return path
}

// replaceLines replaces every line whose trimmed text starts with a key of
// repl by repl's value, and fails when a key matches no line, so that a
// change in the example breaks the test instead of being silently ignored.
func replaceLines(t *testing.T, text string, repl map[string]string) string {
	t.Helper()
	lines := strings.Split(text, "\n")
	for prefix, with := range repl {
		found := false
		for i, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), prefix) {
				lines[i] = "  " + with
				found = true
			}
		}
		require.True(t, found, "no line starting with %q", prefix)
	}
	return strings.Join(lines, "\n")
}

// replaceAll replaces old by new and fails when old does not occur.
func replaceAll(t *testing.T, text, old, new string) string {
	t.Helper()
	require.Contains(t, text, old, "the example no longer contains %q", old)
	return strings.ReplaceAll(text, old, new)
}

// telegrafAgent makes Telegraf collect and flush fast.
const telegrafAgent = `[agent]
  interval = "1s"
  flush_interval = "1s"
  flush_jitter = "0s"
  collection_jitter = "0s"
  metric_batch_size = 100
  omit_hostname = true
`

// checkSuccessPoints asserts what a successful loopback test must look like.
func checkSuccessPoints(t *testing.T, ps []point, port int) {
	t.Helper()
	for _, p := range ps {
		if p["result"] != "success" {
			continue
		}
		require.Equal(t, "127.0.0.1", p["server"], "server tag")
		require.Equal(t, strconv.Itoa(port), p["port"], "port tag")
		require.Equal(t, "false", p["bidir"], "bidir tag")
		require.Contains(t, []any{"tcp", "udp"}, p["protocol"])
		require.EqualValues(t, 0, p.num(t, "result_code"))
		require.Greater(t, p.num(t, "bits_per_second"), 1e6, "loopback throughput in %v", p)
		require.Greater(t, p.num(t, "bytes_received"), 0.0)
		d := p.num(t, "duration_seconds")
		require.True(t, d > 0.5 && d < 3, "duration_seconds %v for a 1 s test", d)
		require.EqualValues(t, 1, p.num(t, "streams"))
		require.NotContains(t, p, "error", "a successful test has no error field")
		if p["protocol"] == "udp" {
			require.Contains(t, p, "jitter_ms")
			require.Contains(t, p, "lost_percent")
			require.Less(t, p.num(t, "lost_percent"), 50.0)
		}
	}
}

// checkSchema asserts the database holds only the schema's names.
func checkSchema(t *testing.T, db *influxDB, database string) {
	t.Helper()
	for _, s := range db.mustQuery(t, database, `SHOW FIELD KEYS FROM "iperf3"`) {
		for _, k := range s.column("fieldKey") {
			require.Contains(t, slices.Concat(schemaFields, schemaLatencyDetail), k, "field not in DESIGN.md's schema")
		}
	}
	for _, s := range db.mustQuery(t, database, `SHOW TAG KEYS FROM "iperf3"`) {
		for _, k := range s.column("tagKey") {
			require.Contains(t, schemaTags, k, "tag not in DESIGN.md's schema")
		}
	}
}

// checkFailurePoints asserts the points written while the server is down.
func checkFailurePoints(t *testing.T, ps []point) {
	t.Helper()
	for _, p := range ps {
		require.Equal(t, "connection_failed", p["result"], "%v", p)
		require.EqualValues(t, 1, p.num(t, "result_code"))
		require.NotEmpty(t, p["error"], "a failed test carries an error string")
		require.NotContains(t, p, "bits_per_second", "a failed test has no throughput")
	}
}

// The execd route of README: stock Telegraf runs `iperfmon run` with the
// example configs, writes to InfluxDB; a dead server shows up as failure points.
func TestPipelineTelegrafExecd(t *testing.T) {
	telegraf := requireTelegraf(t)
	bin := iperfmonBin(t)
	db := startInfluxDB(t)
	srv := startIperfmonServer(t)
	conf := exampleIperfmonConfig(t, srv.Addr())

	tg := readExample(t, "telegraf-execd.conf")
	tg = replaceAll(t, tg, `"iperfmon", "run"`, fmt.Sprintf("%q, %q", bin, "run"))
	tg = replaceAll(t, tg, "/etc/iperfmon/iperfmon.toml", conf)
	tg = replaceAll(t, tg, "http://127.0.0.1:8086", db.URL)
	tgPath := filepath.Join(t.TempDir(), "telegraf.conf")
	require.NoError(t, os.WriteFile(tgPath, []byte(telegrafAgent+tg), 0o644))
	tp := startProc(t, "telegraf", telegraf, "--config", tgPath)

	// Two scheduled runs, both directions (the example's UDP table is hourly).
	ps := waitPoints(t, db, "telegraf", "", map[string]int{
		"tcp/forward/success": 2,
		"tcp/reverse/success": 2,
	}, 90*time.Second, tp)
	checkSuccessPoints(t, ps, srv.Port)
	checkSchema(t, db, "telegraf")

	// The server goes away: the next runs write connection_failed points.
	checkServerGone(t, db, srv, tp)
}

// The exec route: Telegraf starts `iperfmon once` every interval.
func TestPipelineTelegrafExec(t *testing.T) {
	telegraf := requireTelegraf(t)
	bin := iperfmonBin(t)
	db := startInfluxDB(t)
	srv := startIperfmonServer(t)
	conf := exampleIperfmonConfig(t, srv.Addr())

	tg := readExample(t, "telegraf-exec.conf")
	tg = replaceAll(t, tg, `"iperfmon once --config /etc/iperfmon/iperfmon.toml"`, fmt.Sprintf("%q", bin+" once --config "+conf))
	tg = replaceAll(t, tg, "http://127.0.0.1:8086", db.URL)
	// once runs every table of the example: TCP both ways and UDP, ~4 s.
	tg = replaceAll(t, tg, `interval = "15m"`, `interval = "6s"`)
	tgPath := filepath.Join(t.TempDir(), "telegraf.conf")
	require.NoError(t, os.WriteFile(tgPath, []byte(telegrafAgent+tg), 0o644))
	tp := startProc(t, "telegraf", telegraf, "--config", tgPath)

	ps := waitPoints(t, db, "telegraf", "", map[string]int{
		"tcp/forward/success": 2,
		"tcp/reverse/success": 2,
		"udp/forward/success": 2,
	}, 90*time.Second, tp)
	checkSuccessPoints(t, ps, srv.Port)
	checkSchema(t, db, "telegraf")

	// once exits 1 when tests fail; ignore_error = true in the example keeps the points.
	checkServerGone(t, db, srv, tp)
}

// The compiled-in route: Telegraf built with plugins/inputs/iperf3 reads the
// example's [[inputs.iperf3]] tables straight from telegraf.conf.
func TestPipelineTelegrafPlugin(t *testing.T) {
	telegraf := requireTelegrafWithPlugin(t)
	db := startInfluxDB(t)
	srv := startIperfmonServer(t)
	conf, err := os.ReadFile(exampleIperfmonConfig(t, srv.Addr()))
	require.NoError(t, err)

	tg := telegrafAgent + string(conf) + fmt.Sprintf(`
[[outputs.influxdb]]
  urls = [%q]
  database = "telegraf"
`, db.URL)
	tgPath := filepath.Join(t.TempDir(), "telegraf.conf")
	require.NoError(t, os.WriteFile(tgPath, []byte(tg), 0o644))
	tp := startProc(t, "telegraf", telegraf, "--config", tgPath)

	ps := waitPoints(t, db, "telegraf", "", map[string]int{
		"tcp/forward/success": 2,
		"tcp/reverse/success": 2,
	}, 90*time.Second, tp)
	checkSuccessPoints(t, ps, srv.Port)
	checkSchema(t, db, "telegraf")

	checkServerGone(t, db, srv, tp)
}

// checkServerGone stops srv and waits for the failure points of the runs
// after it: a dead server must show up in InfluxDB, not as silence.
func checkServerGone(t *testing.T, db *influxDB, srv *iperfmonServer, tp *proc) {
	t.Helper()
	srv.stop()
	down := time.Now().UTC()
	ps := waitPoints(t, db, "telegraf", fmt.Sprintf(`"result" != 'success' AND time > '%s'`, down.Format(time.RFC3339Nano)),
		map[string]int{
			"tcp/forward/connection_failed": 1,
			"tcp/reverse/connection_failed": 1,
		}, 60*time.Second, tp)
	checkFailurePoints(t, ps)
}
