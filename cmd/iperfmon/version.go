package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
// Without it, the module version from the build info is used (set by
// `go install ...@v1.2.3`), else "devel".
var version = ""

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func (a *app) version(args []string) int {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(a.stdout, usageVersion)
		return exitOK
	}
	if len(args) > 0 {
		a.usageError("version", usagef("unexpected arguments %q", args))
		return exitUsage
	}
	fmt.Fprintf(a.stdout, "iperfmon %s (%s, %s/%s)\n", versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}
