package main

import (
	"sort"
	"strings"

	"github.com/influxdata/telegraf"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/iperfmon/iperfmon/measure"
	"github.com/iperfmon/iperfmon/plugins/inputs/iperf3"
)

// The Prometheus form of the plugin's points, shared by -o prometheus,
// the exporter's /metrics and its /probe: one gauge per numeric field in
// base units (bytes, seconds, ratios), tags as labels, plus iperf3_up and
// iperf3_last_test_timestamp_seconds per point. Field names come from the
// plugin; only their Prometheus spelling lives here.

// promField maps a field to its Prometheus name (without the measurement
// prefix) and the factor to base units. Fields added to the plugin later
// follow the suffix rules.
func promField(field string) (name string, scale float64) {
	switch field {
	case "bits_per_second":
		return "received_bytes_per_second", 1.0 / 8
	case "sender_bits_per_second":
		return "sent_bytes_per_second", 1.0 / 8
	case "bytes_sent":
		return "sent_bytes", 1
	case "bytes_received":
		return "received_bytes", 1
	}
	switch {
	case strings.HasSuffix(field, "_bits_per_second"):
		return strings.TrimSuffix(field, "_bits_per_second") + "_bytes_per_second", 1.0 / 8
	case strings.HasSuffix(field, "_ms"):
		return strings.TrimSuffix(field, "_ms") + "_seconds", 1e-3
	case strings.HasSuffix(field, "_percent"):
		return strings.TrimSuffix(field, "_percent") + "_ratio", 1e-2
	}
	return field, 1
}

// Names of the series every point gets.
const (
	promUp        = "iperf3_up"
	promTimestamp = "iperf3_last_test_timestamp_seconds"
)

// promHelp is the HELP text of each family; others get a generic one.
var promHelp = map[string]string{
	promUp:                             "1 when the last test succeeded, 0 when it failed (the result label says why).",
	promTimestamp:                      "When the last test started, in seconds since the Unix epoch.",
	"iperf3_result_code":               "Result of the last test: 0 success, 1 connection_failed, 2 timeout, 3 server_busy, 4 access_denied, 5 auth_failed, 6 server_error, 7 protocol_error.",
	"iperf3_received_bytes_per_second": "Receiver-side throughput of the last test (what arrived, over the measured time).",
	"iperf3_sent_bytes_per_second":     "Sender-side throughput of the last test.",
	"iperf3_sent_bytes":                "Bytes sent in the last test's measured time (omitted seconds excluded).",
	"iperf3_received_bytes":            "Bytes received in the last test's measured time (omitted seconds excluded).",
	"iperf3_duration_seconds":          "Measured time of the last test.",
	"iperf3_streams":                   "Parallel streams of the last test.",
	"iperf3_retransmits":               "TCP retransmits of the sender in the last test.",
	"iperf3_rtt_seconds":               "Mean TCP round-trip time seen by the sending kernel in the last test.",
	"iperf3_rtt_min_seconds":           "Minimum TCP round-trip time seen by the sending kernel in the last test.",
	"iperf3_rtt_max_seconds":           "Maximum TCP round-trip time seen by the sending kernel in the last test.",
	"iperf3_snd_cwnd_bytes":            "TCP congestion window of the sender at the end of the last test.",
	"iperf3_rtt_var_seconds":           "Variance of the TCP round-trip time seen by the sending kernel in the last test.",
	"iperf3_snd_wnd_bytes":             "TCP send window of the sender at the end of the last test.",
	"iperf3_pmtu_bytes":                "Path MTU seen by the sending kernel in the last test.",
	"iperf3_reorder":                   "Reordering seen by the sending kernel in the last test.",
	"iperf3_idle_rtt_seconds":          "Round-trip time before the last test's load (latency probe).",
	"iperf3_loaded_rtt_seconds":        "Round-trip time under the last test's load (latency probe, median).",
	"iperf3_loaded_rtt_min_seconds":    "Smallest round-trip time under the last test's load (latency probe).",
	"iperf3_loaded_rtt_p90_seconds":    "90th percentile of the round-trip time under the last test's load (latency probe).",
	"iperf3_loaded_rtt_max_seconds":    "Largest round-trip time under the last test's load (latency probe).",
	"iperf3_rtt_increase_seconds":      "Loaded less idle round-trip time of the last test.",
	"iperf3_jitter_seconds":            "UDP jitter at the receiver in the last test.",
	"iperf3_lost_packets":              "UDP datagrams lost in the last test.",
	"iperf3_packets":                   "UDP datagrams sent in the last test.",
	"iperf3_lost_ratio":                "Share of UDP datagrams lost in the last test (0..1).",
	"iperf3_out_of_order_packets":      "UDP datagrams received out of order in the last test.",
	"iperf3_slot_late_seconds":         "How late the last test started against its fleet or mesh slot.",
}

func promHelpFor(name, field string) string {
	if h, ok := promHelp[name]; ok {
		return h
	}
	if strings.HasPrefix(name, "iperf3_cpu_") {
		return "CPU use during the last test, " + strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(field, "cpu_"), "_percent"), "_", " ") + " (iperf3's percentage / 100)."
	}
	return "iperf3 test field " + field + " of the last test, in base units."
}

// promFamilies renders points as metric families sorted by name, each
// series once: a later point with the same labels replaces an earlier one.
// Interval points are left out (a scrape has one value per series) and so
// are string fields (error).
func promFamilies(ms []telegraf.Metric) []*dto.MetricFamily {
	type series struct {
		labels []*dto.LabelPair
		value  float64
	}
	fams := map[string]map[string]series{} // name -> label key -> series
	help := map[string]string{}
	add := func(name, fieldName string, labels []*dto.LabelPair, key string, v float64) {
		if fams[name] == nil {
			fams[name] = map[string]series{}
			help[name] = promHelpFor(name, fieldName)
		}
		fams[name][key] = series{labels, v}
	}
	for _, m := range ms {
		if m.Name() == iperf3.IntervalMeasurement {
			continue
		}
		prefix := sanitizeName(m.Name()) + "_"
		labels, key := promLabels(m.Tags())
		for _, f := range m.FieldList() {
			v, ok := promValue(f.Value)
			if !ok {
				continue
			}
			name, scale := promField(f.Key)
			add(prefix+sanitizeName(name), f.Key, labels, key, v*scale)
		}
		if m.Name() == iperf3.Measurement {
			up := 0.0
			if m.Tags()["result"] == measure.CodeSuccess.String() {
				up = 1
			}
			add(promUp, "", labels, key, up)
			add(promTimestamp, "", labels, key, float64(m.Time().UnixNano())/1e9)
		}
	}
	names := make([]string, 0, len(fams))
	for n := range fams {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]*dto.MetricFamily, 0, len(names))
	for _, n := range names {
		keys := make([]string, 0, len(fams[n]))
		for k := range fams[n] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fam := &dto.MetricFamily{Name: proto.String(n), Help: proto.String(help[n]), Type: dto.MetricType_GAUGE.Enum()}
		for _, k := range keys {
			s := fams[n][k]
			fam.Metric = append(fam.Metric, &dto.Metric{Label: s.labels, Gauge: &dto.Gauge{Value: proto.Float64(s.value)}})
		}
		out = append(out, fam)
	}
	return out
}

// promLabels turns tags into sorted label pairs and a key that identifies
// the label set.
func promLabels(tags map[string]string) ([]*dto.LabelPair, string) {
	names := make([]string, 0, len(tags))
	for k := range tags {
		names = append(names, k)
	}
	sort.Strings(names)
	labels := make([]*dto.LabelPair, 0, len(names))
	var key strings.Builder
	for _, k := range names {
		labels = append(labels, &dto.LabelPair{Name: proto.String(sanitizeName(k)), Value: proto.String(tags[k])})
		key.WriteString(k)
		key.WriteByte(0)
		key.WriteString(tags[k])
		key.WriteByte(0)
	}
	return labels, key.String()
}
