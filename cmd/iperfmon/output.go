package main

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/plugins/serializers/influx"
	"github.com/prometheus/common/expfmt"
)

// lineWriter writes metrics as InfluxDB line protocol with Telegraf's own
// serializer, one unbuffered write per metric: `run` output reaches execd
// as each test finishes, never half a line.
type lineWriter struct {
	mu sync.Mutex // points from concurrent tests never interleave
	w  io.Writer
	s  *influx.Serializer
}

func newLineWriter(w io.Writer) (*lineWriter, error) {
	s := &influx.Serializer{SortFields: true}
	if err := s.Init(); err != nil {
		return nil, fmt.Errorf("influx serializer: %w", err)
	}
	return &lineWriter{w: w, s: s}, nil
}

func (lw *lineWriter) write(ms ...telegraf.Metric) error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	for _, m := range ms {
		b, err := lw.s.Serialize(oneLine(m))
		if err != nil {
			return fmt.Errorf("serialize %s: %w", m.Name(), err)
		}
		if _, err := lw.w.Write(b); err != nil {
			return fmt.Errorf("write metrics: %w", err)
		}
	}
	return nil
}

// oneLine returns m with line breaks in string fields (error messages)
// replaced by spaces: line protocol allows them inside quotes, but
// line-based readers (execd, grep, logs) must see one point per line.
func oneLine(m telegraf.Metric) telegraf.Metric {
	var c telegraf.Metric
	for _, f := range m.FieldList() {
		if s, ok := f.Value.(string); ok && strings.ContainsAny(s, "\r\n") {
			if c == nil {
				c = m.Copy()
			}
			c.AddField(f.Key, strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(s)), " "))
		}
	}
	if c == nil {
		return m
	}
	return c
}

// writePrometheus writes metrics in the Prometheus text format, rendered
// as the exporter renders them (promFamilies): base units, HELP and TYPE,
// the error string left out, no timestamps — the scraper (or the
// node_exporter textfile collector) stamps them.
func writePrometheus(w io.Writer, ms []telegraf.Metric) error {
	for _, fam := range promFamilies(ms) {
		if _, err := expfmt.MetricFamilyToText(w, fam); err != nil {
			return fmt.Errorf("write prometheus text: %w", err)
		}
	}
	return nil
}

func promValue(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// sanitizeName keeps a metric name within [a-zA-Z0-9_:].
func sanitizeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == ':' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}
