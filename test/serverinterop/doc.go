// Package serverinterop checks measure.Server against real clients: stock
// iperf3 (the interop matrix, IPv4, IPv6 and dual-stack) and measure.Client.
// The tests need the iperf3 binary; without it they skip, except with
// CI=true, where they fail.
package serverinterop
