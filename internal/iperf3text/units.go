package iperf3text

import (
	"fmt"
	"strings"
)

// Unit scales, as iperf3's units.c: bytes scale by 1024, bits by 1000.
var (
	byteLabels = [...]string{"Byte", "KByte", "MByte", "GByte", "TByte"}
	bitLabels  = [...]string{"bit", "Kbit", "Mbit", "Gbit", "Tbit"}
)

// ValidFormat reports whether f is a -f/--format letter iperf3 accepts:
// k m g t (bits), K M G T (bytes), a/A adaptive; 0 means adaptive bits.
func ValidFormat(f byte) bool {
	return f == 0 || strings.IndexByte("kmgtaKMGTA", f) >= 0
}

// Unit renders n (a count of bytes) the way iperf3's unit_snprintf does: a
// lower-case format prints bits with 1000 steps, an upper-case one bytes
// with 1024 steps, 'a'/'A' pick the scale, and the number is printed in
// four places, e.g. " 941 Mbit" or "1.50 GByte".
func Unit(n float64, format byte) string {
	bits := format >= 'a' && format <= 'z'
	if bits {
		n *= 8
	}
	base := 1024.0
	if bits {
		base = 1000.0
	}
	conv := 0
	switch format {
	case 'k', 'K':
		conv = 1
	case 'm', 'M':
		conv = 2
	case 'g', 'G':
		conv = 3
	case 't', 'T':
		conv = 4
	default: // adaptive
		for tmp := n; tmp >= base && conv < 4; conv++ {
			tmp /= base
		}
	}
	for range conv {
		n /= base
	}
	label := byteLabels[conv]
	if bits {
		label = bitLabels[conv]
	}
	switch {
	case n < 9.995:
		return fmt.Sprintf("%4.2f %s", n, label)
	case n < 99.95:
		return fmt.Sprintf("%4.1f %s", n, label)
	default:
		return fmt.Sprintf("%4.0f %s", n, label)
	}
}

// Transfer formats a byte count, e.g. " 112 MBytes": adaptive bytes, or
// the -f scale in bytes.
func Transfer(bytes float64, format byte) string {
	if format == 0 || format == 'a' || format == 'A' {
		return Unit(bytes, 'A') + "s"
	}
	return Unit(bytes, upper(format)) + "s"
}

// Bitrate formats bits/s, e.g. " 941 Mbits/sec": adaptive bits by
// default, or the -f scale.
func Bitrate(bps float64, format byte) string {
	if format == 0 {
		format = 'a'
	}
	return Unit(bps/8, format) + "s/sec"
}

func upper(b byte) byte {
	if b >= 'a' && b <= 'z' {
		return b - 'a' + 'A'
	}
	return b
}
