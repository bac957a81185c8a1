package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/iperfmon/iperfmon/measure"
)

// Duration is a time.Duration that decodes from "10s", "1m30s" or a bare
// number of seconds ("10", "0.5"), as iperf3's -t/-O take plain seconds.
// An empty string decodes to 0, which means "the default".
type Duration time.Duration

// Size is a byte count that decodes with iperf3's 1024-based suffixes
// (K, M, G, T, either case), as iperf3's unit_atoi: "128K" is 131072.
// An empty string decodes to 0, which means "the default".
type Size int64

// Rate is a bit rate in bits/s that decodes with iperf3's 1000-based
// suffixes (k, m, g, t, either case), as iperf3's unit_atof_rate: "100M" is
// 100000000. "0" means unlimited and decodes to measure.BitrateUnlimited; an
// empty string decodes to 0, which means "the default" (UDP 1 Mbit/s, TCP
// unlimited).
type Rate int64

const (
	allowedDuration = `a duration like "10s" or "1m30s", or a number of seconds`
	allowedSize     = `a byte count with an optional 1024-based suffix K, M, G or T, e.g. "128K"`
	allowedRate     = `bits per second with an optional 1000-based suffix k, m, g or t, e.g. "100M", or "0" for unlimited`
)

// valueError is a value that does not parse; it says what is allowed.
type valueError struct {
	kind    string // "duration", "size", "rate"
	value   string
	allowed string
}

func (e *valueError) Error() string {
	return fmt.Sprintf("invalid %s %q: allowed %s", e.kind, e.value, e.allowed)
}

// ParseDuration parses "10s", "1m30s" (time.ParseDuration syntax) or a bare
// number of seconds ("10", "2.5"). Negative durations are rejected.
func ParseDuration(s string) (time.Duration, error) {
	bad := &valueError{kind: "duration", value: s, allowed: allowedDuration}
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, bad
	}
	var d time.Duration
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || f*float64(time.Second) > math.MaxInt64 {
			return 0, bad
		}
		d = time.Duration(f * float64(time.Second))
	} else {
		d, err = time.ParseDuration(s)
		if err != nil {
			return 0, bad
		}
	}
	if d < 0 {
		bad.allowed = "a duration that is not negative"
		return 0, bad
	}
	return d, nil
}

// ParseSize parses a byte count with iperf3's 1024-based suffixes: "1400",
// "128K", "1.5M". Fractions of a byte are truncated, as iperf3 does.
func ParseSize(s string) (int64, error) {
	n, err := parseSuffixed(s, 1024)
	if err != nil {
		return 0, &valueError{kind: "size", value: s, allowed: allowedSize}
	}
	return int64(n), nil
}

// ParseRate parses a bit rate with iperf3's 1000-based suffixes: "100M",
// "1.5g", "250000". "0" means unlimited and returns
// measure.BitrateUnlimited. A rate between 0 and 1 bit/s is rejected.
func ParseRate(s string) (int64, error) {
	bad := &valueError{kind: "rate", value: s, allowed: allowedRate}
	n, err := parseSuffixed(s, 1000)
	if err != nil {
		return 0, bad
	}
	if n == 0 {
		return measure.BitrateUnlimited, nil
	}
	if n < 1 {
		return 0, bad
	}
	return int64(n), nil
}

// parseSuffixed parses a non-negative decimal number followed by at most one
// of k, m, g, t (either case), scaled by base per step.
func parseSuffixed(s string, base float64) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty")
	}
	mult := 1.0
	switch s[len(s)-1] {
	case 'k', 'K':
		mult = base
	case 'm', 'M':
		mult = base * base
	case 'g', 'G':
		mult = base * base * base
	case 't', 'T':
		mult = base * base * base * base
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	// Only digits and one dot: no sign, exponent, hex, Inf or NaN.
	if s == "" || s == "." || strings.Trim(s, "0123456789.") != "" || strings.Count(s, ".") > 1 {
		return 0, fmt.Errorf("not a number")
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	n *= mult
	if n >= math.MaxInt64 {
		return 0, fmt.Errorf("too large")
	}
	return n, nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = 0
		return nil
	}
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// String formats d as time.Duration does ("1m30s").
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Size) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*s = 0
		return nil
	}
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = Size(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// String formats s with the largest 1024-based suffix that keeps it exact
// ("128K"); 0 is the empty string (the default).
func (s Size) String() string {
	if s == 0 {
		return ""
	}
	return formatSuffixed(int64(s), 1024)
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Rate) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*r = 0
		return nil
	}
	v, err := ParseRate(string(b))
	if err != nil {
		return err
	}
	*r = Rate(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// String formats r with the largest 1000-based suffix that keeps it exact
// ("100M"); unlimited is "0" and the default is the empty string.
func (r Rate) String() string {
	switch {
	case r == 0:
		return ""
	case int64(r) == measure.BitrateUnlimited:
		return "0"
	}
	return formatSuffixed(int64(r), 1000)
}

func formatSuffixed(n, base int64) string {
	suffix := ""
	for _, s := range []string{"K", "M", "G", "T"} {
		if n == 0 || n%base != 0 {
			break
		}
		n /= base
		suffix = s
	}
	return strconv.FormatInt(n, 10) + suffix
}
