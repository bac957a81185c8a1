package report

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/stockiperf"
	"github.com/iperfmon/iperfmon/measure"
	"github.com/stretchr/testify/require"
)

// keyTypes maps every key path of a JSON document (arrays collapsed to
// "[]") to its JSON type.
func keyTypes(t *testing.T, b []byte) map[string]string {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(b, &v), "%s", b)
	out := map[string]string{}
	var walk func(p string, v any)
	walk = func(p string, v any) {
		switch x := v.(type) {
		case map[string]any:
			out[p] = "object"
			for k, e := range x {
				walk(strings.TrimPrefix(p+"."+k, "."), e)
			}
		case []any:
			out[p] = "array"
			for _, e := range x {
				walk(p+"[]", e)
			}
		case string:
			out[p] = "string"
		case float64:
			out[p] = "number"
		case bool:
			out[p] = "bool"
		default:
			out[p] = "null"
		}
	}
	walk("", v)
	return out
}

// stockOnly are keys a stock iperf3 writes and iperfmon does not, and
// oursOnly keys iperfmon writes that the newest stock version does not
// (older versions lack keys newer ones added; that is allowed). Each entry
// needs its reason in docs/cli.md ("-J differences"); both are empty.
var stockOnly, oursOnly = map[string]bool{}, map[string]bool{}

// TestJSONKeysMatchStock compares the -J document of a real test of ours
// with stock iperf3's for the same kind of test, against the same stock
// server: every key stock writes must be there with the same JSON type.
// Full kinds for 3.12 and 3.22, three for 3.18.
func TestJSONKeysMatchStock(t *testing.T) {
	kinds := []struct {
		name string
		args []string
		test measure.Test
	}{
		{"tcp", nil, measure.Test{}},
		{"udp", []string{"-u", "-b", "50M"}, measure.Test{Protocol: measure.UDP, Bitrate: 50_000_000}},
		{"tcp-R", []string{"-R"}, measure.Test{Reverse: true}},
		{"tcp-bidir", []string{"--bidir"}, measure.Test{Bidir: true}},
		{"tcp-P2", []string{"-P", "2"}, measure.Test{Parallel: 2}},
		{"udp-bidir", []string{"-u", "-b", "50M", "--bidir"}, measure.Test{Protocol: measure.UDP, Bitrate: 50_000_000, Bidir: true}},
	}
	stockiperf.Each(t, func(t *testing.T, v stockiperf.Version, bin string) {
		port := stockiperf.StartServerWith(t, bin)
		for i, k := range kinds {
			if !v.Full && i%2 == 1 {
				continue
			}
			t.Run(k.name, func(t *testing.T) {
				stock := retryBusy(t, func() ([]byte, error) {
					return stockiperf.ClientJSONErr(bin, port, append([]string{"-t", "1"}, k.args...)...)
				})
				ours := retryBusy(t, func() ([]byte, error) {
					test := k.test
					test.Host, test.Port, test.Duration = "127.0.0.1", port, time.Second
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					res, err := (&measure.Client{}).Run(ctx, test)
					if err != nil {
						return nil, err
					}
					return JSON(res)
				})
				st, ot := keyTypes(t, stock), keyTypes(t, ours)
				var diffs []string
				for p, typ := range st {
					if stockOnly[p] {
						continue
					}
					switch got, ok := ot[p]; {
					case !ok:
						diffs = append(diffs, "missing "+p+" ("+typ+")")
					case got != typ:
						diffs = append(diffs, fmt.Sprintf("%s: stock %s, ours %s", p, typ, got))
					}
				}
				if v.Name == stockiperf.Latest().Name {
					for p := range ot {
						if _, ok := st[p]; !ok && !oursOnly[p] {
							diffs = append(diffs, "extra "+p)
						}
					}
				}
				sort.Strings(diffs)
				require.Empty(t, diffs, "-J differences from stock iperf3 %s (allowed ones belong in docs/cli.md)", v.Name)
			})
		}
	})
}

// retryBusy runs f until the stock server takes the test: it serves one
// test at a time and closes and reopens its listener between tests, so a
// test started right after another may be refused or cut off.
func retryBusy(t *testing.T, f func() ([]byte, error)) []byte {
	t.Helper()
	var err error
	for try := range 20 {
		var b []byte
		if b, err = f(); err == nil {
			return b
		}
		t.Logf("try %d: %v", try+1, err)
		time.Sleep(150 * time.Millisecond)
	}
	t.Fatalf("test did not run: %v", err)
	return nil
}
