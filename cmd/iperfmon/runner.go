package main

import (
	"context"

	"github.com/iperfmon/iperfmon/measure"
)

// runTest runs one test with the measure client.
func runTest(ctx context.Context, t measure.Test) (*measure.Result, error) {
	return (&measure.Client{}).Run(ctx, t)
}
