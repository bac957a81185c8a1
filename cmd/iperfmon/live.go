package main

import (
	"io"
	"sync"

	"github.com/iperfmon/iperfmon/measure"
	"github.com/iperfmon/iperfmon/measure/report"
)

// liveOutput prints one test's report while it runs, as iperf3 does: text
// lines or --json-stream events for the start and each interval as it
// ends (measure's OnStart/OnInterval hooks), the rest when it is over
// (finish). The finished output is byte for byte what the same test
// rendered at the end gives.
type liveOutput struct {
	mu      sync.Mutex
	w       io.Writer
	output  string // outText, outJSONStream or outJSONStreamFull
	opt     report.Options
	text    *report.TextLive
	started bool  // the start was printed
	err     error // the first failure; later writes are skipped
}

// newLiveOutput is a live report for output, or nil when that output is
// written only at the end (-J, influx, prometheus).
func newLiveOutput(w io.Writer, output string, opt report.Options) *liveOutput {
	switch output {
	case outText, outJSONStream, outJSONStreamFull:
		return &liveOutput{w: w, output: output, opt: opt, text: report.NewTextLive(w, opt)}
	}
	return nil
}

// attach sets t's hooks to print live.
func (l *liveOutput) attach(t *measure.Test) {
	if l != nil {
		t.OnStart, t.OnInterval = l.start, l.interval
	}
}

func (l *liveOutput) start(res *measure.Result) {
	l.do(func() error {
		l.started = true
		if l.output == outText {
			return l.text.Start(res)
		}
		data, err := report.JSONStart(res, l.opt)
		if err != nil {
			return err
		}
		return streamEvent(l.w, "start", data)
	})
}

func (l *liveOutput) interval(res *measure.Result) {
	l.do(func() error {
		if l.output == outText {
			return l.text.Interval(res)
		}
		data, err := report.JSONInterval(res, l.opt)
		if err != nil {
			return err
		}
		return streamEvent(l.w, "interval", data)
	})
}

func (l *liveOutput) do(f func() error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = f()
	}
}

// finish writes what is left once the test is over: the text summary, or
// the error and end events (and with --json-stream-full-output the -J
// document doc). It reports false when the start was never printed (the
// test failed before its data phase): then the caller renders it all.
func (l *liveOutput) finish(res *measure.Result, doc []byte) (bool, error) {
	if l == nil {
		return false, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.started {
		return false, nil
	}
	if l.err != nil {
		return true, l.err
	}
	if l.output == outText {
		if res == nil || len(res.Directions) == 0 {
			return true, nil // the error is on stderr, as iperf3's
		}
		return true, l.text.End(res)
	}
	return true, jsonStreamEvents(l.w, doc, l.output == outJSONStreamFull, false)
}
