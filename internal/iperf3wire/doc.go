// Package iperf3wire is iperf3's wire format, as the measure package speaks
// it: the control connection's state bytes, cookies, length-prefixed JSON
// frames (parameters and results), SERVER_ERROR with iperf3's error
// numbers, and the UDP handshake and datagram header.
//
// It is internal: the protocol is not this module's API. Tests that play a
// misbehaving peer (internal/servertest, test/hostile) import it directly.
package iperf3wire
