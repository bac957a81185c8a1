package iperf3

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/influxdata/telegraf"

	"github.com/iperfmon/iperfmon/config"
	"github.com/iperfmon/iperfmon/measure"
)

// probeSlack is what a test needs beyond duration + omit: connecting and
// exchanging results.
const probeSlack = time.Second

// Probe runs the tests of targets now, one after the other, and returns
// their points (iperfmon exporter's /probe). Each test takes its server's
// lock from the same registry as every scheduled table, so a probe never
// overlaps a scheduled test of that server; it waits for the lock only
// while the test could still end by ctx's deadline, and otherwise reports
// server_busy without dialling. Busy and refused retries are those of a
// scheduled test. The plugin needs Init, not Start.
func (p *Iperf3) Probe(ctx context.Context, targets []config.Target) []telegraf.Metric {
	var out []telegraf.Metric
	for _, target := range targets {
		var latest time.Time // the last moment the test can start and still end in time
		if dl, ok := ctx.Deadline(); ok {
			latest = dl.Add(-(target.Test.Duration + target.Test.Omit + probeSlack))
		}
		start := time.Now()
		var res *measure.Result
		release, err := p.locks.acquire(ctx, target.Key(), latest)
		switch {
		case errors.Is(err, errSlotPassed):
			err = &measure.Error{Code: measure.CodeServerBusy, Op: "wait for the server",
				Err: fmt.Errorf("another test of %s from this process would not end in time for this one to finish before the deadline", target.Addr())}
		case err != nil:
			err = &measure.Error{Code: measure.CodeTimeout, Op: "wait for the server", Err: err}
		default:
			start, res, err = p.runTest(ctx, target)
			release()
		}
		out = append(out, Metrics(target.Name(), target.Test, res, err, start, false)...)
	}
	return out
}
