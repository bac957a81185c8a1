package iperf3

import (
	"context"

	"github.com/iperfmon/iperfmon/measure"
)

// clientRun runs a test with the measure client, logging its protocol steps
// to the plugin's logger at debug level.
func (p *Iperf3) clientRun() runFunc {
	c := &measure.Client{Logger: NewSlog(p.Log)}
	return func(ctx context.Context, t measure.Test) (*measure.Result, error) {
		return c.Run(ctx, t)
	}
}
