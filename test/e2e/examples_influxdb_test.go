//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/testenv"

	"github.com/stretchr/testify/require"
)

// syntheticWeek returns 7 days of iperf3 points, one test every 15 minutes:
//   - tcp servers s1, s2, s3, forward and reverse, about 1 Gbit/s ±5 %;
//     s2/reverse drops to 50 % for the last two hours (the regression),
//     s3/forward dips to 85 % (not a regression at the 80 % threshold);
//     s1 had a connection failure 30 minutes ago but succeeded since;
//   - udp server u1, forward, with jitter and loss;
//   - tcp server dead: successful until 3 hours ago, connection_failed since.
func syntheticWeek(now time.Time) string {
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	point := func(ts time.Time, server, proto, dir, result string, fields string) {
		fmt.Fprintf(&b, "iperf3,server=%s,port=5201,protocol=%s,direction=%s,bidir=false,result=%s %s %d\n",
			server, proto, dir, result, fields, ts.UnixNano())
	}
	failure := func(ts time.Time, server, dir string) {
		point(ts, server, "tcp", dir, "connection_failed",
			`result_code=1i,error="dial tcp 192.0.2.1:5201: connect: connection refused"`)
	}
	const step = 15 * time.Minute
	const n = 7 * 24 * 4
	for i := n - 1; i >= 0; i-- {
		ts := now.Add(-time.Duration(i)*step - time.Minute)
		recent := i < 8 // last two hours
		for _, s := range []string{"s1", "s2", "s3"} {
			for _, d := range []string{"forward", "reverse"} {
				bps := 1e9 * (1 + (rng.Float64()-0.5)/10)
				switch {
				case s == "s2" && d == "reverse" && recent:
					bps *= 0.5
				case s == "s3" && d == "forward" && recent:
					bps *= 0.85
				}
				point(ts, s, "tcp", d, "success", fmt.Sprintf(
					"bits_per_second=%g,sender_bits_per_second=%g,bytes_sent=%di,bytes_received=%di,duration_seconds=10,streams=1i,retransmits=%di,rtt_ms=%g,result_code=0i%s",
					bps, bps*1.001, int64(bps*10/8), int64(bps*10/8), rng.IntN(50), 1+rng.Float64(), latencyFields(i)))
			}
		}
		point(ts, "u1", "udp", "forward", "success", fmt.Sprintf(
			"bits_per_second=1e7,jitter_ms=%g,lost_packets=%di,packets=10000i,lost_percent=%g,result_code=0i",
			0.5+rng.Float64(), rng.IntN(20), rng.Float64()/5))
		for _, d := range []string{"forward", "reverse"} {
			if i >= 12 {
				point(ts, "dead", "tcp", d, "success", "bits_per_second=5e8,result_code=0i")
			} else {
				failure(ts, "dead", d)
			}
		}
	}
	failure(now.Add(-30*time.Minute+10*time.Second), "s1", "forward")
	// A mesh of three agents, hourly: every agent tests both peers.
	mesh := []string{"m1", "m2", "m3"}
	for h := 24 * 7; h > 0; h-- {
		ts := now.Add(-time.Duration(h) * time.Hour)
		for _, a := range mesh {
			for _, peer := range mesh {
				if a != peer {
					fmt.Fprintf(&b, "iperf3,agent=%s,server=%s,port=5201,protocol=tcp,direction=forward,bidir=false,result=success bits_per_second=%g,result_code=0i %d\n",
						a, peer, 9e8+float64(h), ts.UnixNano())
				}
			}
		}
	}
	return b.String()
}

// latencyFields are the probe's fields of test i: a steady idle RTT and a
// loaded one with a daily bump (no draws from rng, so the other series keep
// their values).
func latencyFields(i int) string {
	idle := 2 + float64(i%3)/10
	loaded := idle + 20 + float64(i%96)/4
	return fmt.Sprintf(",idle_rtt_ms=%g,loaded_rtt_ms=%g,loaded_rtt_min_ms=%g,loaded_rtt_p90_ms=%g,loaded_rtt_max_ms=%g,rtt_increase_ms=%g",
		idle, loaded, idle+1, loaded+5, loaded+10, loaded-idle)
}

// influxQLStatement returns the InfluxQL of an example file without its
// comment lines, on one line.
func influxQLStatement(t *testing.T, rel string) string {
	t.Helper()
	var lines []string
	for l := range strings.SplitSeq(readExample(t, rel), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "--") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, " ")
}

func seriesKey(s series) string {
	return s.Tags["server"] + "/" + s.Tags["protocol"] + "/" + s.Tags["direction"]
}

func seriesKeys(ss []series) []string {
	var keys []string
	for _, s := range ss {
		keys = append(keys, seriesKey(s))
	}
	sort.Strings(keys)
	return keys
}

func TestExampleInfluxQL(t *testing.T) {
	db := startInfluxDB(t)
	db.createDB(t, "telegraf")
	db.write(t, "telegraf", syntheticWeek(time.Now()))

	t.Run("regression", func(t *testing.T) {
		q := influxQLStatement(t, "influxdb/regression.influxql")
		checkInfluxQLNames(t, q, "ratio", "recent", "baseline")
		got := db.mustQuery(t, "telegraf", q)
		require.Equal(t, []string{"s2/tcp/reverse"}, seriesKeys(got), "exactly the regressed series")
		ratio := got[0].column("ratio")
		require.Len(t, ratio, 1)
		require.InDelta(t, 0.5, ratio[0].(float64), 0.05)
	})

	t.Run("failing", func(t *testing.T) {
		q := influxQLStatement(t, "influxdb/failing.influxql")
		checkInfluxQLNames(t, q, "result_code", "error")
		got := db.mustQuery(t, "telegraf", q)
		require.Equal(t, []string{"dead/tcp/forward", "dead/tcp/reverse"}, seriesKeys(got), "exactly the paths whose last test failed")
		for _, s := range got {
			require.EqualValues(t, 1, s.column("result_code")[0])
			require.Contains(t, s.column("error")[0], "connection refused")
		}
	})

	// The usage line in each file's header works as written with the influx CLI.
	t.Run("influx CLI", func(t *testing.T) {
		influx := testenv.RequireTool(t, "influx")
		for _, tc := range []struct{ file, want string }{
			{"regression.influxql", "server=s2"},
			{"failing.influxql", "server=dead"},
		} {
			text := readExample(t, "influxdb/"+tc.file)
			m := regexp.MustCompile(`(?m)^--\s+(influx -database telegraf .*)$`).FindStringSubmatch(text)
			require.NotNil(t, m, "%s: no usage line", tc.file)
			cmd := strings.Replace(m[1], "influx -database",
				fmt.Sprintf("%s -host %s -port %d -database", influx, db.Host, db.Port), 1)
			out, code := runCmd(t, time.Minute, examplePath(t, "influxdb"), nil, "/bin/bash", "-c", cmd)
			require.Equal(t, 0, code, "%s\n%s", cmd, out)
			require.Contains(t, out, tc.want)
			require.NotContains(t, out, "ERR")
		}
	})

	t.Run("grafana", func(t *testing.T) {
		for _, q := range grafanaQueries(t) {
			// Grafana's macros, with the whole week and all values selected.
			run := strings.NewReplacer("$timeFilter", "time > now() - 8d", "$__interval", "1h",
				"$server", ".*", "$direction", ".*").Replace(q.query)
			got, err := db.query("telegraf", run)
			require.NoError(t, err, "panel %q", q.panel)
			require.NotEmpty(t, got, "panel %q returns no series on a week of data: %s", q.panel, run)
			if strings.HasPrefix(q.panel, "Mesh matrix") {
				// One cell per ordered pair of the three-agent mesh, none for
				// points without an agent tag.
				require.Len(t, got, 6, "mesh matrix cells: %v", got)
			}
			if strings.HasPrefix(run, "SHOW TAG VALUES") {
				var values []string
				for _, v := range got[0].column("value") {
					values = append(values, v.(string))
				}
				want := []string{"s1", "s2", "s3", "u1", "dead", "m1", "m2", "m3"}
				if strings.Contains(run, `KEY = "direction"`) {
					want = []string{"forward", "reverse"}
				}
				require.ElementsMatch(t, want, values, "variable %s", q.panel)
			}
		}
	})
}

type grafanaQuery struct{ panel, query string }

// grafanaQueries returns every InfluxQL query of the dashboard: panel targets
// and template variables.
func grafanaQueries(t *testing.T) []grafanaQuery {
	t.Helper()
	var dash struct {
		Title      string `json:"title"`
		UID        string `json:"uid"`
		Templating struct {
			List []struct {
				Name       string         `json:"name"`
				Query      string         `json:"query"`
				Datasource map[string]any `json:"datasource"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			Title      string         `json:"title"`
			Datasource map[string]any `json:"datasource"`
			Targets    []struct {
				Query    string `json:"query"`
				RawQuery bool   `json:"rawQuery"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal([]byte(readExample(t, "grafana/iperfmon.json")), &dash))
	require.NotEmpty(t, dash.Title)
	require.NotEmpty(t, dash.UID)
	var qs []grafanaQuery
	for _, v := range dash.Templating.List {
		require.Equal(t, "influxdb", v.Datasource["type"], "variable %s", v.Name)
		qs = append(qs, grafanaQuery{"$" + v.Name, v.Query})
	}
	for _, p := range dash.Panels {
		require.Equal(t, "influxdb", p.Datasource["type"], "panel %s", p.Title)
		require.NotEmpty(t, p.Targets, "panel %s has no query", p.Title)
		for _, tg := range p.Targets {
			require.True(t, tg.RawQuery, "panel %s: raw InfluxQL expected", p.Title)
			qs = append(qs, grafanaQuery{p.Title, tg.Query})
		}
	}
	return qs
}

func TestExampleGrafanaDashboard(t *testing.T) {
	qs := grafanaQueries(t)
	require.GreaterOrEqual(t, len(qs), 6)
	fieldsUsed := map[string]bool{}
	for _, q := range qs {
		checkInfluxQLNames(t, q.query, "code", "bps")
		quoted, _ := influxQLNames(q.query)
		for _, n := range quoted {
			fieldsUsed[n] = true
		}
	}
	// The dashboard shows what the issue asks for.
	for _, f := range []string{"bits_per_second", "retransmits", "jitter_ms", "lost_percent", "result_code", "result", "server", "direction",
		"idle_rtt_ms", "loaded_rtt_ms"} {
		require.True(t, fieldsUsed[f], "no panel uses %s", f)
	}
}
