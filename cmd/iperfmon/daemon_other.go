//go:build !unix

package main

import "fmt"

// daemonize: background sessions need Unix.
func (a *app) daemonize([]string) int {
	fmt.Fprintf(a.stderr, "E! iperfmon server: -D/--daemon: not supported on this system: run it as a service\n")
	return exitUsage
}
