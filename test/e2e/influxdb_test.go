//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/testenv"
)

// influxDB is a private InfluxDB 1.x server (Debian's influxd) on loopback,
// with its data in the test's temporary directory.
type influxDB struct {
	URL  string // http://127.0.0.1:PORT
	Host string
	Port int
	proc *proc
}

const influxConf = `reporting-disabled = true
bind-address = "127.0.0.1:%d"

[meta]
  dir = %q

[data]
  dir = %q
  wal-dir = %q
  query-log-enabled = false

[http]
  bind-address = "127.0.0.1:%d"
  log-enabled = false

[monitor]
  store-enabled = false

[continuous_queries]
  enabled = false

[logging]
  level = "warn"
`

// startInfluxDB starts influxd and waits until it answers /ping.
func startInfluxDB(t testing.TB) *influxDB {
	t.Helper()
	influxd := testenv.RequireTool(t, "influxd")
	var lastErr error
	// The ports are picked free but could be taken before influxd binds them.
	for attempt := 0; attempt < 3; attempt++ {
		dir := t.TempDir()
		ports := freePorts(t, 2)
		httpPort, rpcPort := ports[0], ports[1]
		conf := filepath.Join(dir, "influxdb.conf")
		body := fmt.Sprintf(influxConf, rpcPort, filepath.Join(dir, "meta"), filepath.Join(dir, "data"),
			filepath.Join(dir, "wal"), httpPort)
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		p := startProc(t, "influxd", influxd, "run", "-config", conf)
		db := &influxDB{URL: fmt.Sprintf("http://127.0.0.1:%d", httpPort), Host: "127.0.0.1", Port: httpPort, proc: p}
		lastErr = waitFor(context.Background(), 30*time.Second, 100*time.Millisecond, func() error {
			if p.exited() {
				return fmt.Errorf("influxd exited: %v: %s", p.err, tail(p.stderr.String(), 2000))
			}
			return db.ping()
		})
		if lastErr == nil {
			return db
		}
		p.stop(2 * time.Second)
	}
	t.Fatalf("influxd did not start: %v", lastErr)
	return nil
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

func (db *influxDB) ping() error {
	resp, err := httpClient.Get(db.URL + "/ping")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("ping: %s", resp.Status)
	}
	return nil
}

// write sends line protocol (nanosecond timestamps) to database.
func (db *influxDB) write(t testing.TB, database, lines string) {
	t.Helper()
	resp, err := httpClient.Post(db.URL+"/write?db="+url.QueryEscape(database), "text/plain", strings.NewReader(lines))
	if err != nil {
		t.Fatalf("influxdb write: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("influxdb write: %s: %s", resp.Status, b)
	}
}

// series is one series of an InfluxQL result.
type series struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

// column returns the values of one column.
func (s series) column(name string) []any {
	for i, c := range s.Columns {
		if c == name {
			out := make([]any, 0, len(s.Values))
			for _, row := range s.Values {
				out = append(out, row[i])
			}
			return out
		}
	}
	return nil
}

// query runs InfluxQL statements and returns the series of all of them; an
// error in any statement is returned.
func (db *influxDB) query(database, q string) ([]series, error) {
	form := url.Values{"q": {q}}
	if database != "" {
		form.Set("db", database)
	}
	resp, err := httpClient.PostForm(db.URL+"/query", form)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Error   string `json:"error"`
		Results []struct {
			Error  string   `json:"error"`
			Series []series `json:"series"`
		} `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("decode %s answer: %w", resp.Status, err)
	}
	if body.Error != "" {
		return nil, fmt.Errorf("query %q: %s", q, body.Error)
	}
	var out []series
	for _, r := range body.Results {
		if r.Error != "" {
			return nil, fmt.Errorf("query %q: %s", q, r.Error)
		}
		out = append(out, r.Series...)
	}
	return out, nil
}

func (db *influxDB) mustQuery(t testing.TB, database, q string) []series {
	t.Helper()
	s, err := db.query(database, q)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (db *influxDB) createDB(t testing.TB, name string) {
	t.Helper()
	db.mustQuery(t, "", "CREATE DATABASE "+name)
}
