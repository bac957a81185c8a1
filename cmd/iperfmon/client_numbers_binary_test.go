package main

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/internal/stockiperf"
	"github.com/iperfmon/iperfmon/internal/testenv"
)

// oneOffStock runs `iperf3 -s -1 -J` on a free loopback port; the returned
// function waits for it and returns the bytes it received.
func oneOffStock(t *testing.T) (string, func() float64) {
	t.Helper()
	srv := stockiperf.Start(t, testenv.RequireTool(t, "iperf3"), "127.0.0.1", "-1", "-J")
	return strconv.Itoa(srv.Port), func() float64 {
		out := srv.Wait(t, 20*time.Second)
		var doc struct {
			End struct {
				SumReceived struct {
					Bytes float64 `json:"bytes"`
				} `json:"sum_received"`
			} `json:"end"`
		}
		require.NoError(t, json.Unmarshal(out, &doc), string(out))
		require.Positive(t, doc.End.SumReceived.Bytes, string(out))
		return doc.End.SumReceived.Bytes
	}
}

var textUnits = map[string]float64{"Bytes": 1, "KBytes": 1 << 10, "MBytes": 1 << 20, "GBytes": 1 << 30}

// Every output form of `iperfmon client` reports the bytes stock
// `iperf3 -s` says it received: exactly in JSON, line protocol and
// Prometheus, and as iperf3's rounded text (3 significant digits) in text.
func TestClientNumbersMatchStockServer(t *testing.T) {
	receiverLine := regexp.MustCompile(`(?m)^\[\s*\d+\]\s+\S+\s+sec\s+([\d.]+) (\w+)\s+.*receiver$`)
	cases := []struct {
		name  string
		args  []string
		bytes func(t *testing.T, stdout string) float64
		tol   float64 // relative
	}{
		{"text", nil, func(t *testing.T, out string) float64 {
			m := receiverLine.FindStringSubmatch(out)
			require.NotNil(t, m, out)
			v, err := strconv.ParseFloat(m[1], 64)
			require.NoError(t, err)
			return v * textUnits[m[2]]
		}, 0.01},
		{"json", []string{"-J"}, func(t *testing.T, out string) float64 {
			var doc struct {
				End struct {
					SumReceived struct {
						Bytes float64 `json:"bytes"`
					} `json:"sum_received"`
				} `json:"end"`
			}
			require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
			return doc.End.SumReceived.Bytes
		}, 0},
		{"influx", []string{"-o", "influx"}, func(t *testing.T, out string) float64 {
			ms := parseInflux(t, out)
			require.Len(t, ms, 1)
			v, ok := ms[0].GetField("bytes_received")
			require.True(t, ok, out)
			return float64(v.(int64))
		}, 0},
		{"prometheus", []string{"-o", "prometheus"}, func(t *testing.T, out string) float64 {
			parser := expfmt.NewTextParser(model.UTF8Validation)
			fams, err := parser.TextToMetricFamilies(strings.NewReader(out))
			require.NoError(t, err, out)
			f := fams["iperf3_received_bytes"]
			require.NotNil(t, f, out)
			return f.Metric[0].GetGauge().GetValue()
		}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			port, serverBytes := oneOffStock(t)
			r := iperfmon(t, nil, append([]string{"client", "127.0.0.1", "-p", port, "-n", "100M"}, tc.args...)...)
			require.Equal(t, 0, r.code, r.stderr)
			want := serverBytes()
			got := tc.bytes(t, r.stdout)
			if tc.tol == 0 {
				require.Equal(t, want, got)
			} else {
				require.InEpsilon(t, want, got, tc.tol)
			}
		})
	}
}
