package main

// TEMPORARY glue to the measure client, which the core helper is writing:
// runTest becomes measure.Client{}.Run when measure/client.go lands.

import (
	"context"
	"fmt"

	"github.com/iperfmon/iperfmon/measure"
)

func runTest(ctx context.Context, t measure.Test) (*measure.Result, error) {
	return nil, &measure.Error{Code: measure.CodeProtocolError, Op: "client", Err: fmt.Errorf("measure client: %w", errNotBuilt)}
}
