package iperf3text

import "fmt"

// Separator ends the interval lines; the summary follows.
const Separator = "- - - - - - - - - - - - - - - - - - - - - - - - -\n"

// Column headers, after "[ ID]" (or "[ ID][Role]" in bidir tests).
const (
	Columns       = " Interval           Transfer     Bitrate"
	ColsJitter    = "         Jitter    Lost/Total Datagrams" // UDP, receiving end
	ColsDatagrams = "         Total Datagrams"                // UDP, sending end
	ColsRetr      = "         Retr"                           // TCP, sending end
	ColsCwnd      = "  Cwnd"                                  // after Retr, interval lines
)

// Lead is the start every interval and summary line shares: the stream tag
// ("[  5]" or "[SUM]"), the bidir role ("[TX-C]", or empty), the period,
// the transfer and the bitrate.
func Lead(tag, role string, start, end float64, bytes int64, bps float64, format byte) string {
	return fmt.Sprintf("%s%s %6.2f-%-6.2f sec  %s  %s", tag, role, start, end,
		Transfer(float64(bytes), format), Bitrate(bps, format))
}

// Loss is a UDP receiver's columns: jitter and lost/total datagrams with
// the loss in percent.
func Loss(jitterMs float64, lost, packets int64, percent float64) string {
	return fmt.Sprintf("  %5.3f ms  %d/%d (%.2g%%)", jitterMs, lost, packets, percent)
}

// LostPercent is lost/packets in percent; 0 when nothing was sent.
func LostPercent(lost, packets int64) float64 {
	if packets <= 0 {
		return 0
	}
	return 100 * float64(lost) / float64(packets)
}
