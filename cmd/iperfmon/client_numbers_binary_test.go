package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
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
	bin := testenv.RequireTool(t, "iperf3")
	port := stockiperf.FreePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "-s", "-1", "-J", "-B", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	// A probe connection would be the one-off server's test: watch
	// /proc/net/tcp for the listening socket instead.
	suffix := fmt.Sprintf(":%04X 00000000:0000 0A", port)
	require.Eventually(t, func() bool {
		b, err := os.ReadFile("/proc/net/tcp")
		return err == nil && strings.Contains(string(b), suffix)
	}, 10*time.Second, 10*time.Millisecond, "iperf3 -s did not listen")
	return strconv.Itoa(port), func() float64 {
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("iperf3 -s -1 did not exit")
		}
		var doc struct {
			End struct {
				SumReceived struct {
					Bytes float64 `json:"bytes"`
				} `json:"sum_received"`
			} `json:"end"`
		}
		require.NoError(t, json.Unmarshal(out.Bytes(), &doc), out.String())
		require.Positive(t, doc.End.SumReceived.Bytes, out.String())
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
