package report

import "github.com/iperfmon/iperfmon/internal/iperf3text"

// ValidFormat reports whether f is a -f/--format letter iperf3 accepts:
// k m g t (bits), K M G T (bytes), a/A adaptive; 0 means adaptive bits.
func ValidFormat(f byte) bool { return iperf3text.ValidFormat(f) }

// FormatBitrate renders bits/s like iperf3, e.g. "941 Mbits/sec".
func FormatBitrate(bps float64) string { return iperf3text.Bitrate(bps, 0) }
