package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/iperfmon/iperfmon/config"
	"github.com/spf13/pflag"
)

// Flag values. Rates, sizes and durations go through the config package's
// parsers, so "100M" means the same on the command line, in iperfmon.toml
// and in telegraf.conf.

// durationValue is a duration flag; a bare number is in unit (seconds for
// -t/-O/-i as iperf3, milliseconds for --connect-timeout as iperf3).
type durationValue struct {
	p    *time.Duration
	unit time.Duration
}

func (v durationValue) Set(s string) error {
	if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil && v.unit != time.Second {
		if f < 0 {
			return fmt.Errorf("invalid duration %q: allowed a duration that is not negative", s)
		}
		*v.p = time.Duration(f * float64(v.unit))
		return nil
	}
	d, err := config.ParseDuration(s)
	if err != nil {
		return err
	}
	*v.p = d
	return nil
}

// String is "0" for zero: pflag's help then prints no "(default 0s)" for
// flags whose usage text states the real default.
func (v durationValue) String() string {
	if *v.p == 0 {
		return "0"
	}
	return v.p.String()
}
func (v durationValue) Type() string { return "duration" }

type sizeValue struct{ p *int64 }

func (v sizeValue) Set(s string) error {
	n, err := config.ParseSize(s)
	if err != nil {
		return err
	}
	*v.p = n
	return nil
}
func (v sizeValue) String() string { return strconv.FormatInt(*v.p, 10) }
func (v sizeValue) Type() string   { return "size" }

type rateValue struct{ p *int64 }

func (v rateValue) Set(s string) error {
	if _, burst, ok := strings.Cut(s, "/"); ok {
		if n, err := strconv.Atoi(burst); err != nil || n < 1 || n > maxBurst {
			return fmt.Errorf("invalid burst count %q in %q (iperf3: maximum = %d)", burst, s, maxBurst)
		}
		return fmt.Errorf("invalid rate %q: the burst suffix /%s is not supported (iperfmon paces every stream evenly); give the rate alone, e.g. \"100M\"", s, burst)
	}
	n, err := config.ParseRate(s)
	if err != nil {
		return err
	}
	*v.p = n
	return nil
}
func (v rateValue) String() string { return strconv.FormatInt(*v.p, 10) }
func (v rateValue) Type() string   { return "rate" }

// iperf3's limits (iperf.h), checked when the flags are parsed as iperf3
// does, not when the test fails.
const (
	maxMSS       = 32767            // -M: MAX_MSS
	maxBlockSize = 1 << 20          // -l for TCP: MAX_BLOCKSIZE
	maxWindow    = 512 << 20        // -w: MAX_TCP_BUFFER
	maxBurst     = 1000             // -b RATE/N: MAX_BURST
	maxTime      = 24 * time.Hour   // -t: MAX_TIME
	maxOmit      = 10 * time.Minute // -O: MAX_OMIT_TIME
)

// intValue is an integer in [min, max]; base 0 accepts 0x10 and 020 as
// iperf3's strtol does for -S.
type intValue struct {
	p        *int
	min, max int
	base     int
}

func (v intValue) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), v.base, 64)
	if err != nil || n < int64(v.min) || n > int64(v.max) {
		return fmt.Errorf("invalid number %q: allowed an integer from %d to %d", s, v.min, v.max)
	}
	*v.p = int(n)
	return nil
}
func (v intValue) String() string { return strconv.Itoa(*v.p) }
func (v intValue) Type() string   { return "int" }

// percentValue is a percentage 0..100, with or without "%".
type percentValue struct{ p *float64 }

func (v percentValue) Set(s string) error {
	f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
	if err != nil || f < 0 || f > 100 {
		return fmt.Errorf("invalid percentage %q: allowed a number from 0 to 100, optionally with %%, e.g. \"20%%\"", s)
	}
	*v.p = f
	return nil
}
func (v percentValue) String() string { return strconv.FormatFloat(*v.p, 'g', -1, 64) }
func (v percentValue) Type() string   { return "percent" }

// choiceValue is one of a fixed set of words.
type choiceValue struct {
	p       *string
	allowed []string
}

func (v choiceValue) Set(s string) error {
	for _, a := range v.allowed {
		if s == a {
			*v.p = s
			return nil
		}
	}
	return fmt.Errorf("invalid value %q: allowed %s", s, strings.Join(v.allowed, ", "))
}
func (v choiceValue) String() string { return *v.p }
func (v choiceValue) Type() string   { return "string" }

// usageError is bad usage: exit 2 (3 for check), with a message that names
// what is wrong and what is allowed.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// flagName renders a flag as "-t/--time" or "--bidir".
func flagName(f *pflag.Flag) string {
	if f.Shorthand != "" {
		return "-" + f.Shorthand + "/--" + f.Name
	}
	return "--" + f.Name
}

// parseFlags parses args with fs and turns pflag's errors into usage
// errors that name the flag and what it accepts.
func parseFlags(fs *pflag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil {
		return nil
	}
	var inv *pflag.InvalidValueError
	var req *pflag.ValueRequiredError
	var nx *pflag.NotExistError
	switch {
	case errors.As(err, &inv):
		return usagef("%s: %v", flagName(inv.GetFlag()), inv.Unwrap())
	case errors.As(err, &req):
		return usagef("%s needs a value", flagName(req.GetFlag()))
	case errors.As(err, &nx):
		if nx.GetSpecifiedShortnames() != "" {
			return usagef("unknown flag -%s", nx.GetSpecifiedName())
		}
		return usagef("unknown flag --%s", nx.GetSpecifiedName())
	}
	return usagef("%v", err)
}
