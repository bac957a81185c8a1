package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/iperfmon/iperfmon/internal/iperf3text"
	"github.com/iperfmon/iperfmon/measure"
)

// TextLive prints a text report while its test runs, as iperf3 does: the
// connection lines when the test starts (Start, with the Result of
// measure's OnStart), each interval as it ends (Interval, with the Result
// of OnInterval), the summary at the end (End). For a client the whole is
// byte for byte what Text prints of the finished test. With opt.Server it
// is the report iperf3's server prints: this end's figures only, no CPU
// line and no "iperf Done.".
type TextLive struct {
	w   io.Writer
	opt Options
	n   int // intervals printed
}

// NewTextLive starts a live text report on w.
func NewTextLive(w io.Writer, opt Options) *TextLive { return &TextLive{w: w, opt: opt} }

func (l *TextLive) write(res *measure.Result, f func(*textWriter)) error {
	if res == nil {
		return fmt.Errorf("report: no result")
	}
	bw := bufio.NewWriter(l.w)
	f(&textWriter{w: bw, res: res, opt: l.opt, test: res.Test})
	return bw.Flush()
}

// Start prints the connection lines.
func (l *TextLive) Start(res *measure.Result) error {
	return l.write(res, (*textWriter).header)
}

// Interval prints one interval, after the column header the first time.
func (l *TextLive) Interval(res *measure.Result) error {
	return l.write(res, func(t *textWriter) {
		if l.n == 0 {
			t.columns()
		}
		t.group(0, l.n > 0)
		l.n++
	})
}

// End prints the summary of the finished test.
func (l *TextLive) End(res *measure.Result) error {
	if l.opt.Server {
		return l.write(res, (*textWriter).serverSummary)
	}
	return l.write(res, (*textWriter).summary)
}

// serverSummary is iperf3's server summary: per stream this end's line
// (sender or receiver), and the sums with -P.
func (t *textWriter) serverSummary() {
	if len(t.res.Directions) == 0 {
		return
	}
	t.printf("%s", iperf3text.Separator)
	anyLocalSender := false
	for i := range t.res.Directions {
		anyLocalSender = anyLocalSender || localSends(&t.res.Directions[i], true)
	}
	cols := iperf3text.Columns
	switch {
	case t.udp():
		cols += iperf3text.ColsJitter
	case t.showRetr() && anyLocalSender:
		cols += iperf3text.ColsRetr
	}
	t.printf("%s%s\n", t.idHeader(), cols)
	for _, s := range streamsByID(t.res) {
		t.sideLine(fmt.Sprintf("[%3d]", s.s.ID), s.dir, s.s.Summary)
	}
	if t.multi() {
		for i := range t.res.Directions {
			t.sideLine("[SUM]", &t.res.Directions[i], t.res.Directions[i].Sum)
		}
	}
}

// sideLine is the summary line of this end's side of a stream or sum.
func (t *textWriter) sideLine(id string, d *measure.DirectionResult, s measure.Summary) {
	if localSends(d, t.opt.Server) {
		t.senderLine(id, d, s)
		return
	}
	t.receiverLine(id, d, s)
}

// JSONStart is the data of --json-stream's start event: -J's "start"
// object of res (the Result of measure's OnStart), on one line.
func JSONStart(res *measure.Result, opt Options) ([]byte, error) {
	if res == nil {
		return nil, fmt.Errorf("report: no result")
	}
	j := jsonWriter{res: res, opt: opt, test: res.Test}
	return compact(j.start())
}

// JSONInterval is the data of an interval event: the one interval of res
// (the Result of measure's OnInterval) as -J lists it, on one line.
func JSONInterval(res *measure.Result, opt Options) ([]byte, error) {
	if res == nil {
		return nil, fmt.Errorf("report: no result")
	}
	j := jsonWriter{res: res, opt: opt, test: res.Test}
	ivs := j.intervals()
	if len(ivs) == 0 {
		return nil, fmt.Errorf("report: no interval")
	}
	return compact(ivs[0])
}

// compact encodes v as JSON renders it (no HTML escaping), on one line.
func compact(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
