package main

// TEMPORARY: copies of config.ParseDuration/ParseSize/ParseRate with the
// same signatures and semantics, until the config package is on main.
// Delete this file and point parseDuration/parseSize/parseRate at config.

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/iperfmon/iperfmon/measure"
)

var (
	parseDuration = tmpParseDuration
	parseSize     = tmpParseSize
	parseRate     = tmpParseRate
)

func tmpParseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf(`invalid duration %q: allowed a duration like "10s" or "1m30s", or a number of seconds`, s)
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
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, bad
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: allowed a duration that is not negative", s)
	}
	return d, nil
}

func tmpParseSize(s string) (int64, error) {
	n, err := tmpSuffixed(s, 1024)
	if err != nil {
		return 0, fmt.Errorf(`invalid size %q: allowed a byte count with an optional 1024-based suffix K, M, G or T, e.g. "128K"`, s)
	}
	return int64(n), nil
}

func tmpParseRate(s string) (int64, error) {
	n, err := tmpSuffixed(s, 1000)
	if err != nil || (n > 0 && n < 1) {
		return 0, fmt.Errorf(`invalid rate %q: allowed bits per second with an optional 1000-based suffix k, m, g or t, e.g. "100M", or "0" for unlimited`, s)
	}
	if n == 0 {
		return measure.BitrateUnlimited, nil
	}
	return int64(n), nil
}

func tmpSuffixed(s string, base float64) (float64, error) {
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
