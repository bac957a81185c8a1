package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/influxdata/telegraf"

	"github.com/iperfmon/iperfmon/plugins/inputs/iperf3"
)

// logger writes to stderr in the form Telegraf's execd understands: every
// line starts with "E! ", "W! ", "I! " or "D! ". It implements
// telegraf.Logger for the plugin and feeds measure's *slog.Logger.
type logger struct {
	mu    *sync.Mutex
	w     io.Writer
	level telegraf.LogLevel
	attrs string // " key=value" pairs from AddAttribute
}

func newLogger(w io.Writer, debug bool) *logger {
	lvl := telegraf.Info
	if debug {
		lvl = telegraf.Debug
	}
	return &logger{mu: &sync.Mutex{}, w: w, level: lvl}
}

func (l *logger) write(lvl telegraf.LogLevel, prefix, msg string) {
	if lvl > l.level {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// One prefixed line per line of msg, so execd maps every line.
	for line := range strings.SplitSeq(strings.TrimRight(msg, "\n"), "\n") {
		fmt.Fprintf(l.w, "%s%s%s\n", prefix, line, l.attrs)
	}
}

func (l *logger) Level() telegraf.LogLevel { return l.level }

func (l *logger) AddAttribute(key string, value any) {
	l.attrs += fmt.Sprintf(" %s=%v", key, value)
}

func (l *logger) Errorf(f string, a ...any) { l.write(telegraf.Error, "E! ", fmt.Sprintf(f, a...)) }
func (l *logger) Error(a ...any)            { l.write(telegraf.Error, "E! ", fmt.Sprint(a...)) }
func (l *logger) Warnf(f string, a ...any)  { l.write(telegraf.Warn, "W! ", fmt.Sprintf(f, a...)) }
func (l *logger) Warn(a ...any)             { l.write(telegraf.Warn, "W! ", fmt.Sprint(a...)) }
func (l *logger) Infof(f string, a ...any)  { l.write(telegraf.Info, "I! ", fmt.Sprintf(f, a...)) }
func (l *logger) Info(a ...any)             { l.write(telegraf.Info, "I! ", fmt.Sprint(a...)) }
func (l *logger) Debugf(f string, a ...any) { l.write(telegraf.Debug, "D! ", fmt.Sprintf(f, a...)) }
func (l *logger) Debug(a ...any)            { l.write(telegraf.Debug, "D! ", fmt.Sprint(a...)) }
func (l *logger) Tracef(f string, a ...any) { l.write(telegraf.Trace, "D! ", fmt.Sprintf(f, a...)) }
func (l *logger) Trace(a ...any)            { l.write(telegraf.Trace, "D! ", fmt.Sprint(a...)) }

// slog returns a *slog.Logger for measure that writes through l, or nil
// (measure stays silent) unless debug output is on.
func (l *logger) slog() *slog.Logger {
	if l.level < telegraf.Debug {
		return nil
	}
	return iperf3.NewSlog(l)
}

// slogInfo returns a *slog.Logger for measure at info level (debug with
// -d): the server's per-test lines are worth seeing.
func (l *logger) slogInfo() *slog.Logger { return iperf3.NewSlog(l) }
