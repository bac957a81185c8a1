// Package hostile holds the hostile-peer suite: a scripted fake iperf3
// server on loopback that misbehaves in every phase of the protocol (slow
// drip, wrong states, huge lengths, absurd results, silence, early closes,
// garbage in the UDP handshake), and tests that measure.Client fails with
// the right result code within its deadline, with bounded memory and no
// leaked goroutines. Everything lives in _test.go files.
package hostile
