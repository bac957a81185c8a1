//go:build linux

package accuracy

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Header sizes on the veth link. tc's tbf and htb charge each packet its
// length at the device, which on an Ethernet-type device such as veth
// includes the 14-byte Ethernet header (no preamble, FCS or gap: those do
// not exist on veth). GSO super-packets are charged as the sum of their
// segments. iperf3 counts only payload: the TCP byte stream, or the whole
// UDP datagram payload (its own 12- or 16-byte header included).
const (
	ethHeader    = 14
	ipv4Header   = 20
	ipv6Header   = 40
	tcpHeader    = 20
	tcpTimestamp = 12 // Linux default net.ipv4.tcp_timestamps=1: 10 bytes + 2 of padding
	udpHeader    = 8
)

// tcpMSS is the payload of a full-sized TCP segment on the link.
func tcpMSS(family int) int {
	return linkMTU - ipHeader(family) - tcpHeader - tcpTimestamp
}

func ipHeader(family int) int {
	if family == 6 {
		return ipv6Header
	}
	return ipv4Header
}

// goodput is what a correct receiver reports on a link shaped to rate
// (bits/s of L2 bytes), when the shaper is the bottleneck and always busy:
//
//	TCP: rate × MSS / (MTU + 14)       MSS = MTU − IP − 20 − 12 (timestamps)
//	UDP: rate × L / (L + 8 + IP + 14)  L = datagram payload (-l)
//
// with IP = 20 (IPv4) or 40 (IPv6). For MTU 1500 that is 0.9564 of the
// shaped rate for TCP/IPv4, 0.9432 for TCP/IPv6 and 0.9709 for 1400-byte
// UDP/IPv4 datagrams. TCP's ACKs flow the other way and are not charged to
// the shaped direction; in bidir tests they are (see bidir_test.go).
func goodput(rate float64, udp bool, family, length int) float64 {
	if udp {
		return rate * float64(length) / float64(length+udpHeader+ipHeader(family)+ethHeader)
	}
	return rate * float64(tcpMSS(family)) / float64(linkMTU+ethHeader)
}

func TestGoodputFormula(t *testing.T) {
	tests := []struct {
		name   string
		udp    bool
		family int
		length int
		want   float64 // payload share of the shaped rate
	}{
		{"tcp ipv4", false, 4, 0, 1448.0 / 1514},
		{"tcp ipv6", false, 6, 0, 1428.0 / 1514},
		{"udp ipv4 1400", true, 4, 1400, 1400.0 / 1442},
		{"udp ipv6 1400", true, 6, 1400, 1400.0 / 1462},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.InDelta(t, tt.want*100e6, goodput(100e6, tt.udp, tt.family, tt.length), 1)
		})
	}
}
