// Package soak runs many short tests, in process and through the iperfmon
// binary, and asserts that goroutines, descriptors, heap and RSS return to
// their baseline: nothing a long unattended run does may accumulate.
//
// The in-process soak runs 1,000 tests (SOAK_TESTS); the binary soak runs
// `iperfmon run` with a 1 s schedule for 75 s (SOAK_DURATION, e.g. 10m
// locally). Both are timing-sensitive: run them on a machine that is not
// busy with other heavy work.
package soak
