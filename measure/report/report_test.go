package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/iperfmon/iperfmon/internal/iperf3text"
	"github.com/iperfmon/iperfmon/internal/stockiperf"
	"github.com/iperfmon/iperfmon/measure"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

type kind struct {
	name     string
	proto    measure.Protocol
	reverse  bool
	bidir    bool
	parallel int
	args     []string // the same test for stock iperf3
}

var kinds = []kind{
	{"tcp", measure.TCP, false, false, 1, nil},
	{"tcp_reverse", measure.TCP, true, false, 1, []string{"-R"}},
	{"tcp_bidir_p2", measure.TCP, false, true, 2, []string{"--bidir", "-P", "2"}},
	{"udp_p2", measure.UDP, false, false, 2, []string{"-u", "-b", "10M", "-l", "1400", "-P", "2"}},
	{"udp_reverse", measure.UDP, true, false, 1, []string{"-u", "-b", "10M", "-l", "1400", "-R"}},
	{"udp_bidir", measure.UDP, false, true, 1, []string{"-u", "-b", "10M", "-l", "1400", "--bidir"}},
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./measure/report -update to create %s", path)
	require.Equal(t, string(want), string(got))
}

var fixedOpts = Options{Version: "iperfmon test", SystemInfo: "Linux test x86_64"}

func TestTextGolden(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, TextWith(&buf, fixture(k.proto, k.reverse, k.bidir, k.parallel), fixedOpts))
			out := buf.String()
			require.Contains(t, out, "Connecting to host 127.0.0.1, port 5201\n")
			require.Contains(t, out, iperf3text.Separator)
			require.Contains(t, out, "CPU Utilization: local/")
			require.True(t, strings.HasSuffix(out, "\niperf Done.\n"))
			golden(t, k.name+".txt.golden", buf.Bytes())
		})
	}
}

func TestJSONGolden(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			b, err := JSONWith(fixture(k.proto, k.reverse, k.bidir, k.parallel), fixedOpts)
			require.NoError(t, err)
			golden(t, k.name+".json.golden", b)
			_, err = stockiperf.ParseGeneric(b, k.proto == measure.UDP, k.proto == measure.TCP, k.bidir)
			require.NoError(t, err)
		})
	}
}

func TestFormatBitrate(t *testing.T) {
	require.Equal(t, " 941 Mbits/sec", FormatBitrate(941e6))
}

func TestJSONError(t *testing.T) {
	b, err := JSONWith(nil, Options{Err: errors.New("unable to connect to server: connection refused")})
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b, &doc))
	require.Equal(t, "unable to connect to server: connection refused", doc["error"])
	require.Equal(t, map[string]any{}, doc["end"])
	require.Equal(t, []any{}, doc["intervals"])
}

// keyPaths lists every key path of a JSON document, arrays collapsed to
// "[]", so that two documents can be compared by shape.
func keyPaths(t *testing.T, b []byte) map[string]bool {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(b, &v))
	out := map[string]bool{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				out[p] = true
				walk(p, e)
			}
		case []any:
			for _, e := range x {
				walk(prefix+"[]", e)
			}
		}
	}
	walk("", v)
	return out
}

// Keys iperf3 3.12 does not print yet: newer releases added them, and we
// print what 3.22 prints (TestJSONKeysMatchStock checks every version).
var (
	notProduced  = map[string]bool{}
	newerThan312 = map[string]bool{
		"start.test_start.bidir": true, "start.fq_rate": true, "start.timestamp.timemillisecs": true,
		"start.test_start.fqrate": true, "start.test_start.interval": true,
		"start.test_start.gso": true, "start.test_start.gro": true,
		"intervals[].streams[].reorder": true, "end.streams[].sender.reorder": true,
	}
)

// TestJSONShapeMatchesStockIperf3 runs stock iperf3 -J on loopback for each
// kind of test and requires our document for the same kind to have the
// same key paths, and both to pass the same generic parser.
func TestJSONShapeMatchesStockIperf3(t *testing.T) {
	port := stockiperf.StartServer(t)
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			stock := stockiperf.ClientJSON(t, port, append([]string{"-t", "1"}, k.args...)...)
			ours, err := JSONWith(fixture(k.proto, k.reverse, k.bidir, k.parallel), fixedOpts)
			require.NoError(t, err)

			udp, bidir := k.proto == measure.UDP, k.bidir
			_, err = stockiperf.ParseGeneric(stock, udp, !udp, bidir)
			require.NoError(t, err, "stock iperf3 output:\n%s", stock)
			_, err = stockiperf.ParseGeneric(ours, udp, !udp, bidir)
			require.NoError(t, err)

			sp, op := keyPaths(t, stock), keyPaths(t, ours)
			var missing, extra []string
			for p := range sp {
				if !op[p] && !notProduced[p] {
					missing = append(missing, p)
				}
			}
			for p := range op {
				if !sp[p] && !newerThan312[p] {
					extra = append(extra, p)
				}
			}
			sort.Strings(missing)
			sort.Strings(extra)
			require.Empty(t, missing, "keys stock iperf3 has and we lack")
			require.Empty(t, extra, "keys we print that stock iperf3 does not")
		})
	}
}
