package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/iperfmon/iperfmon/internal/iperf3text"
	"github.com/iperfmon/iperfmon/measure"
)

// Text writes res as iperf3 prints a client's results: the connection
// lines, one line per stream and interval ([SUM] lines with -P > 1), a
// separator, the sender and receiver summary, the CPU line and the
// server's output when it was asked for.
func Text(w io.Writer, res *measure.Result) error { return TextWith(w, res, Options{}) }

// TextWith is Text with options (units, server view).
func TextWith(w io.Writer, res *measure.Result, opt Options) error {
	if res == nil {
		return fmt.Errorf("report: no result")
	}
	bw := bufio.NewWriter(w)
	t := textWriter{w: bw, res: res, opt: opt, test: res.Test}
	t.header()
	t.intervals()
	t.summary()
	return bw.Flush()
}

type textWriter struct {
	w    *bufio.Writer
	res  *measure.Result
	opt  Options
	test measure.Test
}

func (t *textWriter) printf(format string, a ...any) { fmt.Fprintf(t.w, format, a...) }

func (t *textWriter) udp() bool   { return t.test.Protocol == measure.UDP }
func (t *textWriter) bidir() bool { return t.test.Bidir || len(t.res.Directions) > 1 }
func (t *textWriter) multi() bool { return t.test.Parallel > 1 }

// role is the bidir column, e.g. "[TX-C]"; empty for one-way tests.
func (t *textWriter) role(d *measure.DirectionResult) string {
	if !t.bidir() {
		return ""
	}
	dir, end := "RX", "C"
	if localSends(d, t.opt.Server) {
		dir = "TX"
	}
	if t.opt.Server {
		end = "S"
	}
	return "[" + dir + "-" + end + "]"
}

func (t *textWriter) header() {
	host, port := hostPort(t.res.RemoteAddr)
	if t.opt.Server {
		t.printf("Accepted connection from %s, port %d\n", host, port)
	} else {
		t.printf("Connecting to host %s, port %d\n", t.test.Host, t.test.Port)
		if t.test.Reverse {
			t.printf("Reverse mode, remote host %s is sending\n", t.test.Host)
		}
	}
	lh, lp := hostPort(t.res.LocalAddr)
	for _, s := range streamsByID(t.res) {
		t.printf("[%3d] local %s port %d connected to %s port %d\n", s.s.ID, lh, lp, host, port)
	}
}

// showRetr says whether TCP lines carry the Retr column.
func (t *textWriter) showRetr() bool {
	return !t.udp() && t.res.SenderHasRetransmits
}

func (t *textWriter) idHeader() string {
	if t.bidir() {
		return "[ ID][Role]"
	}
	return "[ ID]"
}

func (t *textWriter) intervals() {
	n := 0
	for i := range t.res.Directions {
		d := &t.res.Directions[i]
		n = max(n, len(d.Intervals))
		for _, s := range d.Streams {
			n = max(n, len(s.Intervals))
		}
	}
	if n == 0 {
		return
	}
	t.columns()
	for i := range n {
		t.group(i, i > 0)
	}
}

// columns is the column header of the interval lines.
func (t *textWriter) columns() {
	anyLocalSender, anyLocalReceiver := false, false
	for i := range t.res.Directions {
		if localSends(&t.res.Directions[i], t.opt.Server) {
			anyLocalSender = true
		} else {
			anyLocalReceiver = true
		}
	}
	cols := iperf3text.Columns
	switch {
	case t.udp() && anyLocalReceiver:
		cols += iperf3text.ColsJitter
	case t.udp():
		cols += iperf3text.ColsDatagrams
	case t.showRetr() && anyLocalSender:
		cols += iperf3text.ColsRetr + iperf3text.ColsCwnd
	}
	t.printf("%s%s\n", t.idHeader(), cols)
}

// group prints the i-th interval of every stream, then the sums.
func (t *textWriter) group(i int, separate bool) {
	if separate && t.multi() { // iperf3 separates interval groups of -P tests
		t.printf("%s", iperf3text.Separator)
	}
	for _, s := range streamsByID(t.res) {
		if i < len(s.s.Intervals) {
			t.intervalLine(fmt.Sprintf("[%3d]", s.s.ID), s.dir, s.s.Intervals[i], true)
		}
	}
	if t.multi() {
		for j := range t.res.Directions {
			d := &t.res.Directions[j]
			if i < len(d.Intervals) {
				t.intervalLine("[SUM]", d, d.Intervals[i], false)
			}
		}
	}
}

func (t *textWriter) intervalLine(id string, d *measure.DirectionResult, iv measure.Interval, perStream bool) {
	omitted := ""
	if iv.Omitted {
		omitted = "(omitted)"
	}
	lead := iperf3text.Lead(id, t.role(d), iv.Start, iv.End, iv.Bytes, iv.BitsPerSecond, t.opt.Format)
	sends := localSends(d, t.opt.Server)
	switch {
	case t.udp() && sends:
		pad := ""
		if t.bidir() {
			pad = "          "
		}
		t.printf("%s %s %d  %s\n", lead, pad, iv.Packets, omitted)
	case t.udp():
		t.printf("%s%s  %s\n", lead, iperf3text.Loss(iv.JitterMs, iv.LostPackets, iv.Packets,
			iperf3text.LostPercent(iv.LostPackets, iv.Packets)), omitted)
	case sends && t.showRetr() && perStream:
		t.printf("%s  %3d   %s       %s\n", lead, max(iv.Retransmits, 0), iperf3text.Transfer(float64(iv.SndCwnd), 'A'), omitted)
	case sends && t.showRetr():
		t.printf("%s  %3d             %s\n", lead, max(iv.Retransmits, 0), omitted)
	default:
		t.printf("%s                  %s\n", lead, omitted)
	}
}

func (t *textWriter) summary() {
	if len(t.res.Directions) == 0 {
		return
	}
	t.printf("%s", iperf3text.Separator)
	cols := iperf3text.Columns
	switch {
	case t.udp():
		cols += iperf3text.ColsJitter
	case t.showRetr():
		cols += iperf3text.ColsRetr
	}
	t.printf("%s%s\n", t.idHeader(), cols)
	for i := range t.res.Directions {
		d := &t.res.Directions[i]
		for _, s := range d.Streams {
			t.summaryLines(fmt.Sprintf("[%3d]", s.ID), d, s.Summary)
		}
		if t.multi() {
			t.summaryLines("[SUM]", d, d.Sum)
		}
		for _, s := range d.Streams {
			if t.udp() && s.OutOfOrder > 0 {
				t.printf("[%3d]%s %4.1f-%4.1f sec  %d datagrams received out-of-order\n",
					s.ID, t.role(d), 0.0, s.ReceiverSeconds, s.OutOfOrder)
			}
		}
	}
	t.cpuLine()
	t.latencyLine()
	if out := strings.TrimRight(t.res.ServerOutputText, "\n"); out != "" {
		t.printf("\nServer output:\n%s\n", out)
	}
	t.printf("\niperf Done.\n")
}

// summaryLines are the sender's and the receiver's summary lines of a
// stream or sum.
func (t *textWriter) summaryLines(id string, d *measure.DirectionResult, s measure.Summary) {
	t.senderLine(id, d, s)
	t.receiverLine(id, d, s)
}

func (t *textWriter) senderLine(id string, d *measure.DirectionResult, s measure.Summary) {
	snd := iperf3text.Lead(id, t.role(d), 0, s.SenderSeconds, s.SenderBytes, s.SenderBitsPerSecond, t.opt.Format)
	switch {
	case t.udp():
		sent := s.SenderPackets
		if sent == 0 {
			sent = s.Packets
		}
		t.printf("%s%s  sender\n", snd, iperf3text.Loss(0, 0, sent, 0))
	case t.showRetr() && s.Retransmits >= 0:
		t.printf("%s  %3d             sender\n", snd, s.Retransmits)
	default:
		t.printf("%s                  sender\n", snd)
	}
}

func (t *textWriter) receiverLine(id string, d *measure.DirectionResult, s measure.Summary) {
	rcv := iperf3text.Lead(id, t.role(d), 0, s.ReceiverSeconds, s.ReceiverBytes, s.ReceiverBitsPerSecond, t.opt.Format)
	if t.udp() {
		t.printf("%s%s  receiver\n", rcv, iperf3text.Loss(s.JitterMs, s.LostPackets, s.Packets, s.LostPercent))
		return
	}
	t.printf("%s                  receiver\n", rcv)
}

func (t *textWriter) cpuLine() {
	localRole, remoteRole := "receiver", "sender"
	if localSends(&t.res.Directions[0], t.opt.Server) {
		localRole, remoteRole = "sender", "receiver"
	}
	l, r := t.res.CPULocal, t.res.CPURemote
	t.printf("CPU Utilization: local/%s %.1f%% (%.1f%%u/%.1f%%s), remote/%s %.1f%% (%.1f%%u/%.1f%%s)\n",
		localRole, l.TotalPercent, l.UserPercent, l.SystemPercent,
		remoteRole, r.TotalPercent, r.UserPercent, r.SystemPercent)
}
