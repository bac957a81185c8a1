// Command iperfmon measures network paths with the iperf3 protocol: a
// drop-in iperf3 client and server, a scheduler for Telegraf's execd and
// exec inputs, and a Nagios-style SLA check. See docs/cli.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

// Exit codes (Nagios codes for check are in check.go).
const (
	exitOK    = 0
	exitFail  = 1 // a test failed
	exitUsage = 2 // bad usage or config
)

func main() {
	a := &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startProfile(os.Getenv, os.Stderr)
	code := a.main(ctx, os.Args[1:])
	stopProfile()
	stop()
	os.Exit(code)
}

// app is the binary with its standard streams as fields, so tests can run
// modes in-process.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

var modes = []string{"client", "server", "once", "run", "check", "exporter", "version"}

// main dispatches on the mode, or on iperf3's -c/-s anywhere in args.
func (a *app) main(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(a.stderr, usageTop)
		return exitUsage
	}
	switch args[0] {
	case "client":
		return a.client(ctx, args[1:])
	case "server":
		return a.server(ctx, args[1:])
	case "once":
		return a.once(ctx, args[1:])
	case "run":
		return a.run(ctx, args[1:])
	case "check":
		return a.check(ctx, args[1:])
	case "exporter":
		return a.exporter(ctx, args[1:])
	case "version", "--version", "-v":
		return a.version(args[1:])
	case "help", "-h", "--help":
		if len(args) > 1 && slices.Contains(modes, args[1]) {
			return a.main(ctx, []string{args[1], "--help"})
		}
		fmt.Fprint(a.stdout, usageTop)
		return exitOK
	}
	switch {
	case hasFlag(args, "v", "version", false):
		return a.version(nil) // iperf3 -v anywhere on the line
	case hasFlag(args, "c", "client", true):
		return a.client(ctx, args)
	case hasFlag(args, "s", "server", false):
		return a.server(ctx, args)
	}
	a.usageError("", usagef("unknown mode %q: allowed %s, or iperf3's -c HOST / -s", args[0], strings.Join(modes, ", ")))
	return exitUsage
}

// hasFlag reports whether args hold -x or --long (also -xVALUE and
// --long=VALUE when the flag takes a value).
func hasFlag(args []string, short, long string, value bool) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "-"+short || a == "--"+long || value && (strings.HasPrefix(a, "--"+long+"=") ||
			strings.HasPrefix(a, "-"+short) && !strings.HasPrefix(a, "--")) {
			return true
		}
	}
	return false
}

// usageError prints a usage error for mode on stderr.
func (a *app) usageError(mode string, err error) {
	name := "iperfmon"
	if mode != "" {
		name += " " + mode
	}
	fmt.Fprintf(a.stderr, "E! %s: %v (see %s --help)\n", name, err, name)
}
