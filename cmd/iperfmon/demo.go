package main

import (
	"context"
	"errors"
	"net"
	"strconv"

	"github.com/iperfmon/iperfmon/measure"
)

// startDemoServer serves on a free loopback port until shutdown is called.
func startDemoServer(ctx context.Context, log *logger) (addr string, shutdown func(), err error) {
	ln, err := measure.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &measure.Server{MaxTests: 1, Logger: log.slog()}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	port := ln.Addr().(*net.TCPAddr).Port
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, measure.ErrServerClosed) {
			log.Warnf("embedded server: %v", err)
		}
	}, nil
}
