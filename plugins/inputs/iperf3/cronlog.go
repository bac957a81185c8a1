package iperf3

import (
	"fmt"
	"strings"

	"github.com/influxdata/telegraf"
)

// cronLogger sends robfig/cron's logging to Telegraf's logger. cron logs
// every schedule and wake-up at Info, which is noise for a plugin: those go
// to Debug. Errors (recovered panics) stay errors.
type cronLogger struct{ log telegraf.Logger }

func (l cronLogger) Info(msg string, kv ...any) {
	l.log.Debug("cron: " + msg + keyValues(kv))
}

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Errorf("cron: %s: %v%s", msg, err, keyValues(kv))
}

func keyValues(kv []any) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, " %v=%v", kv[i], kv[i+1])
	}
	if len(kv)%2 == 1 {
		fmt.Fprintf(&b, " %v", kv[len(kv)-1])
	}
	return b.String()
}
