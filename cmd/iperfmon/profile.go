package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
)

// startProfile writes a pprof CPU profile of the whole process to the file
// named by IPERFMON_CPUPROFILE, for performance work (README
// "Performance"); a hidden knob, not a flag. The returned func stops it.
func startProfile(getenv func(string) string, stderr io.Writer) func() {
	path := getenv("IPERFMON_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(stderr, "W! IPERFMON_CPUPROFILE: %v; not profiling\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(stderr, "W! IPERFMON_CPUPROFILE: %v; not profiling\n", err)
		_ = f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}
