package main

import (
	"sync"
	"time"

	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/metric"
)

// accumulator is the telegraf.Accumulator the plugin writes to in `once`
// and `run`: every point goes to sink as it arrives (line protocol on
// stdout), errors to the log. It is safe for concurrent use.
type accumulator struct {
	mu     sync.Mutex
	sink   func(telegraf.Metric) error
	log    *logger
	failed bool // a point with a non-zero result_code was seen
}

func (a *accumulator) AddMetric(m telegraf.Metric) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if v, ok := m.GetField("result_code"); ok {
		if code, ok := v.(int64); ok && code != 0 {
			a.failed = true
		}
	}
	if err := a.sink(m); err != nil {
		a.log.Errorf("%v", err)
	}
}

func (a *accumulator) add(name string, fields map[string]any, tags map[string]string, tp telegraf.ValueType, t []time.Time) {
	ts := time.Now()
	if len(t) > 0 {
		ts = t[0]
	}
	a.AddMetric(metric.New(name, tags, fields, ts, tp))
}

func (a *accumulator) AddFields(n string, f map[string]any, tags map[string]string, t ...time.Time) {
	a.add(n, f, tags, telegraf.Untyped, t)
}

func (a *accumulator) AddGauge(n string, f map[string]any, tags map[string]string, t ...time.Time) {
	a.add(n, f, tags, telegraf.Gauge, t)
}

func (a *accumulator) AddCounter(n string, f map[string]any, tags map[string]string, t ...time.Time) {
	a.add(n, f, tags, telegraf.Counter, t)
}

func (a *accumulator) AddSummary(n string, f map[string]any, tags map[string]string, t ...time.Time) {
	a.add(n, f, tags, telegraf.Summary, t)
}

func (a *accumulator) AddHistogram(n string, f map[string]any, tags map[string]string, t ...time.Time) {
	a.add(n, f, tags, telegraf.Histogram, t)
}

func (a *accumulator) SetPrecision(time.Duration) {}

func (a *accumulator) AddError(err error) {
	if err != nil {
		a.log.Errorf("%v", err)
	}
}

// WithTracking is not supported: nothing downstream acknowledges points.
func (a *accumulator) WithTracking(int) telegraf.TrackingAccumulator {
	panic("iperfmon: tracking accumulator not supported")
}

func (a *accumulator) anyFailed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.failed
}
