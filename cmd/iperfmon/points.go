package main

import (
	"time"

	"github.com/influxdata/telegraf"
	"github.com/iperfmon/iperfmon/config"
	"github.com/iperfmon/iperfmon/measure"
	"github.com/iperfmon/iperfmon/plugins/inputs/iperf3"
)

// pointsFor renders a client test with the plugin's metric function, the
// only home of metric names.
func pointsFor(t measure.Test, res *measure.Result, err error, start time.Time, intervals bool) []telegraf.Metric {
	dir := config.DirectionForward
	switch {
	case t.Bidir:
		dir = config.DirectionBidir
	case t.Reverse:
		dir = config.DirectionReverse
	}
	target := config.Target{Server: hostPortString(t), Host: t.Host, Port: t.Port, Direction: dir, Test: t}
	return iperf3.Metrics(target, res, err, start, intervals)
}
