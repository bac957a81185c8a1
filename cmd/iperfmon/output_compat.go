package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// prefixWriter starts every line with iperf3's --timestamps time and -T
// title ("TITLE:  "), in that order as iperf3 prints them.
type prefixWriter struct {
	w          io.Writer
	timeFormat string // "" for no time
	title      string
	now        func() time.Time
	midLine    bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	n := len(b)
	var out bytes.Buffer
	for len(b) > 0 {
		if !p.midLine {
			if p.timeFormat != "" {
				out.WriteString(strftime(p.timeFormat, p.now()))
			}
			if p.title != "" {
				out.WriteString(p.title + ":  ")
			}
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out.Write(b)
			p.midLine = true
			break
		}
		out.Write(b[:i+1])
		p.midLine = false
		b = b[i+1:]
	}
	_, err := p.w.Write(out.Bytes())
	return n, err
}

// strftime renders the common strftime(3) conversions; others are kept
// as written.
func strftime(f string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'A':
			b.WriteString(t.Format("Monday"))
		case 'b', 'h':
			b.WriteString(t.Format("Jan"))
		case 'B':
			b.WriteString(t.Format("January"))
		case 'c':
			b.WriteString(t.Format("Mon Jan _2 15:04:05 2006"))
		case 'd':
			b.WriteString(t.Format("02"))
		case 'e':
			b.WriteString(t.Format("_2"))
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'D':
			b.WriteString(t.Format("01/02/06"))
		case 'H':
			b.WriteString(t.Format("15"))
		case 'I':
			b.WriteString(t.Format("03"))
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'm':
			b.WriteString(t.Format("01"))
		case 'M':
			b.WriteString(t.Format("04"))
		case 'p':
			b.WriteString(t.Format("PM"))
		case 's':
			b.WriteString(strconv.FormatInt(t.Unix(), 10))
		case 'S':
			b.WriteString(t.Format("05"))
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case 'y':
			b.WriteString(t.Format("06"))
		case 'Y':
			b.WriteString(t.Format("2006"))
		case 'z':
			b.WriteString(t.Format("-0700"))
		case 'Z':
			b.WriteString(t.Format("MST"))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(f[i])
		}
	}
	return b.String()
}

// jsonStream turns a -J document into iperf3's --json-stream lines: a
// start event, one interval event per interval, then end (and error when
// the test failed). With full, the whole document follows (3.20's
// --json-stream-full-output).
func jsonStream(w io.Writer, doc []byte, full bool) error {
	return jsonStreamEvents(w, doc, full, true)
}

// jsonStreamEvents is jsonStream; without head it leaves out the start and
// interval events (printed live).
func jsonStreamEvents(w io.Writer, doc []byte, full, head bool) error {
	var d struct {
		Start     json.RawMessage   `json:"start"`
		Intervals []json.RawMessage `json:"intervals"`
		End       json.RawMessage   `json:"end"`
		Error     *string           `json:"error"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return fmt.Errorf("json-stream: %w", err)
	}
	var out bytes.Buffer
	// data is compacted to one line.
	event := func(name string, data []byte) {
		var c bytes.Buffer
		if json.Compact(&c, data) != nil || c.Len() == 0 {
			c.Reset()
			c.WriteString("{}")
		}
		_ = streamEvent(&out, name, c.Bytes())
	}
	if head {
		event("start", d.Start)
		for _, iv := range d.Intervals {
			event("interval", iv)
		}
	}
	if d.Error != nil {
		msg, _ := json.Marshal(*d.Error)
		event("error", msg)
	}
	event("end", d.End)
	if full {
		out.Write(doc)
	}
	_, err := w.Write(out.Bytes())
	return err
}

// streamEvent writes one --json-stream line in one write: "event" before
// "data", as iperf3 prints them; data is one line of JSON.
func streamEvent(w io.Writer, name string, data []byte) error {
	_, err := fmt.Fprintf(w, "{\"event\":%q,\"data\":%s}\n", name, data)
	return err
}
