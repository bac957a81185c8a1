// Package interop runs measure.Client against stock iperf3 servers on
// loopback and compares our figures with the server's own --json report.
// A missing iperf3 skips the suite, or fails it when CI=true. Everything
// lives in _test.go files.
package interop
