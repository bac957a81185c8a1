package iperf3text

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUnit(t *testing.T) {
	for _, c := range []struct {
		n      float64
		format byte
		want   string
	}{
		{1.5 * (1 << 30), 'A', "1.50 GByte"},
		{785796, 'A', " 767 KByte"},
		{12.9e9 / 8, 'a', "12.9 Gbit"},
		{941e6 / 8, 'a', " 941 Mbit"},
		{999.6e3 / 8, 'a', "1000 Kbit"},
		{10.2e6 / 8, 'm', "10.2 Mbit"},
		{5 * (1 << 20), 'K', "5120 KByte"},
		{0, 'a', "0.00 bit"},
	} {
		require.Equal(t, c.want, Unit(c.n, c.format), "%v %c", c.n, c.format)
	}
}

func TestLine(t *testing.T) {
	for _, c := range []struct {
		name, got, want string
	}{
		{"lead", Lead("[  5]", "", 1, 2, 117_440_512, 939.5e6, 0), "[  5]   1.00-2.00   sec   112 MBytes   940 Mbits/sec"},
		{"lead-bidir-format", Lead("[SUM]", "[TX-C]", 0, 10, 1<<30, 8e9, 'g'), "[SUM][TX-C]   0.00-10.00  sec  1.00 GBytes  8.00 Gbits/sec"},
		{"lead-tiny", Lead("[  1]", "", 0, 1, 0, 0, 0), "[  1]   0.00-1.00   sec  0.00 Bytes  0.00 bits/sec"},
		{"loss", Loss(0.0123, 1, 863, LostPercent(1, 863)), "  0.012 ms  1/863 (0.12%)"},
		{"loss-none-sent", Loss(0, 0, 0, LostPercent(0, 0)), "  0.000 ms  0/0 (0%)"},
	} {
		require.Equal(t, c.want, c.got, c.name)
	}
}
