package iperf3

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/influxdata/telegraf"
)

// slogHandler sends measure's slog output to a Telegraf logger, so that
// `telegraf --debug` shows the protocol steps of each test. measure logs at
// Debug; anything above keeps its level. (Telegraf's plugins/common/slog
// logs everything but errors at debug level and prints attributes as a Go
// slice; the server's per-test info lines must stay visible.)
type slogHandler struct {
	log   telegraf.Logger
	attrs string // pre-formatted WithAttrs/WithGroup context
	group string
}

// NewSlog returns a *slog.Logger for measure that writes through log; the
// iperfmon binary uses it too.
func NewSlog(log telegraf.Logger) *slog.Logger { return slog.New(&slogHandler{log: log}) }

func (h *slogHandler) Enabled(_ context.Context, level slog.Level) bool {
	if level >= slog.LevelInfo {
		return true
	}
	return h.log.Level() >= telegraf.Debug
}

func (h *slogHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	b.WriteString(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		writeAttr(&b, h.group, a)
		return true
	})
	msg := b.String()
	switch {
	case r.Level >= slog.LevelError:
		h.log.Error(msg)
	case r.Level >= slog.LevelWarn:
		h.log.Warn(msg)
	case r.Level >= slog.LevelInfo:
		h.log.Info(msg)
	default:
		h.log.Debug(msg)
	}
	return nil
}

func (h *slogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.attrs)
	for _, a := range attrs {
		writeAttr(&b, h.group, a)
	}
	return &slogHandler{log: h.log, attrs: b.String(), group: h.group}
}

func (h *slogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &slogHandler{log: h.log, attrs: h.attrs, group: h.group + name + "."}
}

func writeAttr(b *strings.Builder, group string, a slog.Attr) {
	if a.Equal(slog.Attr{}) {
		return
	}
	fmt.Fprintf(b, " %s%s=%v", group, a.Key, a.Value.Resolve())
}
