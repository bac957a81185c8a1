package main

// TEMPORARY: server, once and run wait for measure.Server and the plugin.

import "context"

func (a *app) server(ctx context.Context, args []string) int {
	return a.pending("server", usageServer, args)
}

func (a *app) pending(mode, usage string, args []string) int {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		a.help(usage, nil)
		return exitOK
	}
	newLogger(a.stderr, false).Errorf("iperfmon %s: %v", mode, errNotBuilt)
	return exitFail
}
