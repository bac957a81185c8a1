package main

// TEMPORARY glue to parts other team members are writing; replaced when
// they land on main:
//   runTest   → measure.Client{}.Run         (measure/client.go)
//   pointsFor → iperf3.Metrics               (plugins/inputs/iperf3)

import (
	"context"
	"fmt"
	"time"

	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/metric"
	"github.com/iperfmon/iperfmon/measure"
)

func runTest(ctx context.Context, t measure.Test) (*measure.Result, error) {
	return nil, &measure.Error{Code: measure.CodeProtocolError, Op: "client", Err: fmt.Errorf("measure client: %w", errNotBuilt)}
}

// pointsFor is a stand-in with the shape of the plugin's points (one per
// direction, result tag, result_code field) so the output plumbing can be
// exercised; the plugin is the only home of metric names.
func pointsFor(t measure.Test, res *measure.Result, err error, start time.Time, intervals bool) []telegraf.Metric {
	code := measure.Classify(err)
	dirs := []string{"forward"}
	switch {
	case t.Reverse:
		dirs = []string{"reverse"}
	case t.Bidir:
		dirs = []string{"forward", "reverse"}
	}
	var out []telegraf.Metric
	for i, d := range dirs {
		tags := map[string]string{"server": t.Host, "port": fmt.Sprint(t.Port), "protocol": string(t.Protocol),
			"direction": d, "bidir": fmt.Sprint(t.Bidir), "result": code.String()}
		fields := map[string]any{"result_code": int64(code)}
		if err != nil {
			fields["error"] = err.Error()
		} else if res != nil && i < len(res.Directions) {
			fields["bits_per_second"] = res.Directions[i].Sum.ReceiverBitsPerSecond
		}
		out = append(out, metric.New("iperf3", tags, fields, start))
	}
	return out
}
