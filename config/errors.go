package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Error is a rejected table setting. Its text names the table, the key, the
// bad value and what is allowed, e.g.
//
//	inputs.iperf3[1]: parallel = 200: allowed 1..128
type Error struct {
	Index   int    // table index in the file; -1 when not known (inside Telegraf)
	Line    int    // line in the file; 0 when not known
	Key     string // the key, e.g. "parallel" or "servers[1]"
	Value   string // the bad value as written in TOML
	Reason  string // why it is wrong, when "allowed" alone does not say it
	Allowed string // what is allowed
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("inputs.iperf3")
	if e.Index >= 0 {
		fmt.Fprintf(&b, "[%d]", e.Index)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, ": line %d", e.Line)
	}
	fmt.Fprintf(&b, ": %s = %s: ", e.Key, e.Value)
	if e.Reason != "" {
		b.WriteString(e.Reason)
		b.WriteString("; ")
	}
	b.WriteString("allowed ")
	b.WriteString(e.Allowed)
	return b.String()
}

// bad builds an *Error for a table whose index is not known yet.
func bad(key, value, reason, allowed string) *Error {
	return &Error{Index: -1, Key: key, Value: value, Reason: reason, Allowed: allowed}
}

// Renderers of values as they would be written in TOML.
func qs(s string) string   { return strconv.Quote(s) }
func qd(d Duration) string { return strconv.Quote(human(time.Duration(d))) }
func qi(i int) string      { return strconv.Itoa(i) }
func qsize(s Size) string  { return strconv.Quote(s.String()) }
func qrate(r Rate) string  { return strconv.Quote(r.String()) }

// human formats d without zero tails: "24h", "5m", "1m30s".
func human(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
