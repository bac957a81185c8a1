package report

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/measure"
)

func TestLatencyReport(t *testing.T) {
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	full := &measure.Latency{Method: measure.ProbeICMPRaw, Target: "127.0.0.1",
		Idle:   measure.RTTStats{Sent: 5, Received: 5, Median: ms(0.5), Min: ms(0.4), Max: ms(0.9), P90: ms(0.9)},
		Loaded: measure.RTTStats{Sent: 100, Received: 98, Median: ms(48), Min: ms(1), Max: ms(60), P90: ms(55)}}
	noLoaded := &measure.Latency{Method: measure.ProbeICMPUnprivileged, Target: "::1",
		Idle:   measure.RTTStats{Sent: 5, Received: 5, Median: ms(0.5), Min: ms(0.4), Max: ms(0.9), P90: ms(0.9)},
		Loaded: measure.RTTStats{Sent: 10}}
	for _, tc := range []struct {
		name string
		lat  *measure.Latency
		json string // the "iperfmon" key, "" for none
		text string // the latency line, "" for none
	}{
		{"off", nil, "", ""},
		{"unavailable", &measure.Latency{Target: "192.0.2.1", Unavailable: "no ICMP socket"},
			`{"latency":{"unavailable":"no ICMP socket","target":"192.0.2.1"}}`, ""},
		{"full", full,
			`{"latency":{"method":"icmp-raw","target":"127.0.0.1","probe_interval_ms":100,` +
				`"idle":{"sent":5,"received":5,"median_ms":0.5,"min_ms":0.4,"p90_ms":0.9,"max_ms":0.9},` +
				`"loaded":{"sent":100,"received":98,"median_ms":48,"min_ms":1,"p90_ms":55,"max_ms":60},` +
				`"idle_rtt_ms":0.5,"loaded_rtt_ms":48,"rtt_increase_ms":47.5}}`,
			"Latency (ICMP echo, 10/s): idle 0.50 ms (5/5 replies), loaded 48.00 ms (min 1.00, p90 55.00, max 60.00; 98/100 replies), increase +47.50 ms; medians\n"},
		{"no loaded replies", noLoaded,
			`{"latency":{"method":"icmp-unprivileged","target":"::1","probe_interval_ms":100,` +
				`"idle":{"sent":5,"received":5,"median_ms":0.5,"min_ms":0.4,"p90_ms":0.9,"max_ms":0.9},` +
				`"loaded":{"sent":10,"received":0},"idle_rtt_ms":0.5}}`,
			"Latency (ICMP echo, 10/s): idle 0.50 ms (5/5 replies), loaded - (0/10 replies); medians\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := fixture(measure.TCP, false, false, 1)
			res.Latency = tc.lat
			b, err := JSONWith(res, fixedOpts)
			require.NoError(t, err)
			var doc map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(b, &doc))
			if tc.json == "" {
				require.NotContains(t, doc, "iperfmon")
			} else {
				require.JSONEq(t, tc.json, string(doc["iperfmon"]))
			}
			var buf bytes.Buffer
			require.NoError(t, TextWith(&buf, res, fixedOpts))
			if tc.text == "" {
				require.NotContains(t, buf.String(), "Latency")
			} else {
				require.Contains(t, buf.String(), "\n"+tc.text)
			}
		})
	}
}
