package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/metric"
	"github.com/influxdata/telegraf/plugins/parsers/influx"
	"github.com/influxdata/telegraf/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

func samplePoints() []telegraf.Metric {
	ts := time.Unix(1700000000, 0)
	tags := func(dir, result string) map[string]string {
		return map[string]string{"server": "127.0.0.1", "port": "5201", "protocol": "tcp", "direction": dir, "bidir": "false", "result": result}
	}
	return []telegraf.Metric{
		metric.New("iperf3", tags("forward", "success"), map[string]any{"bits_per_second": 9.4e9, "retransmits": int64(3), "result_code": int64(0)}, ts),
		metric.New("iperf3", tags("reverse", "connection_failed"), map[string]any{"result_code": int64(1), "error": "dial: refused \"x\"\nnext"}, ts),
	}
}

func TestLineProtocolRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	lw, err := newLineWriter(&buf)
	require.NoError(t, err)
	require.NoError(t, lw.write(samplePoints()...))
	require.Equal(t, 2, strings.Count(buf.String(), "\n"), buf.String())

	p := &influx.Parser{}
	require.NoError(t, p.Init())
	got, err := p.Parse(buf.Bytes())
	require.NoError(t, err)
	want := samplePoints()
	want[1].AddField("error", "dial: refused \"x\" next") // one point per line
	testutil.RequireMetricsEqual(t, want, got)
}

func TestPrometheusText(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, writePrometheus(&buf, samplePoints()))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(buf.String()))
	require.NoError(t, err, buf.String())
	require.Equal(t, 9.4e9/8, fams["iperf3_received_bytes_per_second"].Metric[0].Gauge.GetValue())
	require.Contains(t, fams, "iperf3_retransmits")
	require.Equal(t, []float64{1, 0}, []float64{fams["iperf3_up"].Metric[0].Gauge.GetValue(), fams["iperf3_up"].Metric[1].Gauge.GetValue()})
	require.Equal(t, 1700000000.0, fams["iperf3_last_test_timestamp_seconds"].Metric[0].Gauge.GetValue())
	rc := fams["iperf3_result_code"]
	require.NotNil(t, rc)
	require.Len(t, rc.Metric, 2)
	labels := map[string]string{}
	for _, l := range rc.Metric[1].Label {
		labels[l.GetName()] = l.GetValue()
	}
	require.Equal(t, map[string]string{"server": "127.0.0.1", "port": "5201", "protocol": "tcp", "direction": "reverse",
		"bidir": "false", "result": "connection_failed"}, labels)
	require.Equal(t, 1.0, rc.Metric[1].Gauge.GetValue())
	require.NotContains(t, buf.String(), "dial: refused", "string fields are not Prometheus values")
	promtoolCheck(t, buf.String())
}
