//go:build !pending

package main

import "context"

// TEMPORARY until measure.Server lands (demo.go).
func startDemoServer(ctx context.Context, log *logger) (addr string, shutdown func(), err error) {
	return "", nil, errNotBuilt
}
