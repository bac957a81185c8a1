package main

import (
	"time"

	"github.com/influxdata/telegraf"
	"github.com/iperfmon/iperfmon/measure"
	"github.com/iperfmon/iperfmon/plugins/inputs/iperf3"
)

// pointsFor renders a client test with the plugin's metric function, the
// only home of metric names.
func pointsFor(t measure.Test, res *measure.Result, err error, start time.Time, intervals bool) []telegraf.Metric {
	return iperf3.Metrics(t.Host, t, res, err, start, intervals)
}
