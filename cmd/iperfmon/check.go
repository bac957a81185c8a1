package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/iperfmon/iperfmon/config"
	"github.com/iperfmon/iperfmon/internal/retry"
	"github.com/iperfmon/iperfmon/measure"
	"github.com/iperfmon/iperfmon/measure/report"
)

// Nagios plugin exit codes.
const (
	nagiosOK       = 0
	nagiosWarning  = 1
	nagiosCritical = 2
	nagiosUnknown  = 3
)

var nagiosNames = [...]string{"OK", "WARNING", "CRITICAL", "UNKNOWN"}

// checkFlags are check's thresholds on top of the client flags.
type checkFlags struct {
	minBitrate, warnBitrate int64
	maxLoss                 float64
	lossGiven               bool // --max-loss 0 is a threshold too
	maxJitter               time.Duration
	maxRetransmits          int
	maxLoadedRTT            time.Duration
	maxRTTIncrease          time.Duration
	baselineFile            string
	maxDrop                 float64
	baselineKeep            int
	busyRetries             int
	busyBackoff             time.Duration
}

// baselineMinSamples is how many earlier results a baseline needs before a
// run is judged against it.
const baselineMinSamples = 3

// check runs one test and reports it as a Nagios plugin.
func (a *app) check(ctx context.Context, args []string) int {
	fs := newFlagSet("check")
	var cf clientFlags
	cf.register(fs)
	latencyOnByDefault(fs, &cf)
	ck := checkFlags{maxDrop: 20, baselineKeep: 20, maxRetransmits: -1, busyRetries: config.DefaultBusyRetries, busyBackoff: config.DefaultBusyBackoff}
	fs.Var(rateValue{&ck.minBitrate}, "min-bitrate", "CRITICAL below this receiver-side throughput (e.g. 500M)")
	fs.Var(rateValue{&ck.warnBitrate}, "warn-bitrate", "WARNING below this throughput (at least --min-bitrate)")
	fs.Var(percentValue{&ck.maxLoss}, "max-loss", "UDP: CRITICAL above this loss, e.g. 1%")
	fs.Var(durationValue{&ck.maxJitter, time.Millisecond}, "max-jitter", "UDP: CRITICAL above this jitter: milliseconds or a duration like 5ms")
	fs.Var(intValue{&ck.maxRetransmits, 0, 1 << 30, 10}, "max-retransmits", "TCP: WARNING above this many retransmits")
	fs.Var(durationValue{&ck.maxLoadedRTT, time.Millisecond}, "max-loaded-rtt", "CRITICAL above this median RTT under load: milliseconds or a duration like 50ms")
	fs.Var(durationValue{&ck.maxRTTIncrease, time.Millisecond}, "max-rtt-increase", "CRITICAL when the RTT under load exceeds the idle RTT by more than this (e.g. 30ms)")
	fs.StringVar(&ck.baselineFile, "baseline-file", "", "state file of recent results for regression alerts")
	fs.Var(percentValue{&ck.maxDrop}, "max-drop", "WARNING when throughput is this far below the baseline median")
	fs.Var(intValue{&ck.baselineKeep, baselineMinSamples, 1000, 10}, "baseline-keep", "results kept per server, protocol and direction")
	fs.Var(intValue{&ck.busyRetries, 0, 10, 10}, "busy-retries", "retry a busy server this many times before UNKNOWN")
	fs.Var(durationValue{&ck.busyBackoff, time.Second}, "busy-backoff", "first wait before retrying a busy server (doubles, jittered)")

	unknown := func(err error) int {
		fmt.Fprintf(a.stdout, "IPERF3 UNKNOWN - bad usage: %v (see iperfmon check --help)\n", err)
		return nagiosUnknown
	}
	if err := parseFlags(fs, args); err != nil {
		return unknown(err)
	}
	if cf.help {
		a.help(usageCheck, fs)
		return exitOK
	}
	test, err := cf.test(fs, fs.Args(), a.getenv)
	if err != nil {
		return unknown(err)
	}
	ck.lossGiven = fs.Changed("max-loss")
	if err := ck.validate(fs.Changed, test); err != nil {
		return unknown(err)
	}
	if cf.common.jsonStream || cf.compat.title != "" || cf.common.timestamps != "" {
		return unknown(usagef("--json-stream, -T and --timestamps shape client output: check prints one status line"))
	}
	done, err := a.applyCommon(&cf.common, false, "") // --logfile, -I, -A
	if err != nil {
		return unknown(err)
	}
	defer done()
	log := newLogger(a.stderr, cf.debug)
	test.Logger = log.slog()

	res, testErr := ck.runWithRetries(ctx, test, log)
	warnLatency(log, res)
	st := ck.evaluate(test, res, testErr)
	if testErr == nil && ck.baselineFile != "" {
		ck.applyBaseline(&st, test, res, time.Now(), log)
	}
	fmt.Fprintln(a.stdout, st.line(test))
	return st.code
}

// runWithRetries runs the test under the same retry policy as scheduled
// tests: a busy server again after jittered, doubling waits, as long as a
// whole test still fits before the test's deadline.
func (ck *checkFlags) runWithRetries(ctx context.Context, t measure.Test, log *logger) (*measure.Result, error) {
	_, res, err := retry.Policy{Busy: ck.busyRetries, Backoff: ck.busyBackoff, Debugf: log.Debugf}.Run(ctx, t, runTest)
	return res, err
}

func (ck *checkFlags) validate(changed func(string) bool, t measure.Test) error {
	// "0" parses as unlimited for -b; as a threshold it means none.
	ck.minBitrate, ck.warnBitrate = max(ck.minBitrate, 0), max(ck.warnBitrate, 0)
	switch {
	case changed("min-bitrate") && ck.minBitrate == 0:
		return usagef("--min-bitrate: must be more than 0")
	case changed("warn-bitrate") && ck.warnBitrate == 0:
		return usagef("--warn-bitrate: must be more than 0")
	case ck.warnBitrate > 0 && ck.warnBitrate < ck.minBitrate:
		return usagef("--warn-bitrate %s is below --min-bitrate %s: the warning level must be the higher one",
			rateString(float64(ck.warnBitrate)), rateString(float64(ck.minBitrate)))
	case (changed("max-loss") || changed("max-jitter")) && t.Protocol != measure.UDP:
		return usagef("--max-loss and --max-jitter apply to UDP tests: add -u")
	case changed("max-retransmits") && t.Protocol != measure.TCP:
		return usagef("--max-retransmits applies to TCP tests: remove -u")
	case (changed("max-loaded-rtt") || changed("max-rtt-increase")) && !t.Latency:
		return usagef("--max-loaded-rtt and --max-rtt-increase need the latency probe: remove --latency=false")
	case changed("max-loaded-rtt") && ck.maxLoadedRTT <= 0 || changed("max-rtt-increase") && ck.maxRTTIncrease <= 0:
		return usagef("--max-loaded-rtt and --max-rtt-increase: must be more than 0")
	case (changed("max-drop") || changed("baseline-keep")) && ck.baselineFile == "":
		return usagef("--max-drop and --baseline-keep need --baseline-file")
	case changed("busy-backoff") && ck.busyBackoff <= 0:
		return usagef("--busy-backoff: must be more than 0")
	case ck.maxDrop <= 0 || ck.maxDrop >= 100:
		return usagef("--max-drop: %g%% out of range; allowed more than 0%% and less than 100%%", ck.maxDrop)
	}
	if !changed("min-bitrate") && !changed("warn-bitrate") && !changed("max-loss") && !changed("max-jitter") &&
		!changed("max-retransmits") && !changed("max-loaded-rtt") && !changed("max-rtt-increase") && ck.baselineFile == "" {
		return usagef("no threshold given: use --min-bitrate R and/or --warn-bitrate, --max-loss, --max-jitter, --max-retransmits, --max-loaded-rtt, --max-rtt-increase, --baseline-file")
	}
	return nil
}

// status is the outcome of a check so far.
type status struct {
	code     int
	reasons  []string // why the state is not OK
	figures  []string // "forward 941 Mbit/s"
	perfdata []string
	err      error
}

// severity orders states as monitoring-plugins' max_state does:
// CRITICAL > WARNING > UNKNOWN > OK.
var severity = [...]int{nagiosOK: 0, nagiosWarning: 2, nagiosCritical: 3, nagiosUnknown: 1}

// raise moves the state up to code if that is worse, and records why.
func (s *status) raise(code int, reason string) {
	if severity[code] > severity[s.code] {
		s.code = code
	}
	s.reasons = append(s.reasons, reason)
}

// errorState maps a failed test to Nagios: a path or server that does not
// work is CRITICAL; a server that could not run our test (busy, refusing
// us, rejecting our credentials) gave no measurement: UNKNOWN.
func errorState(code measure.ResultCode) int {
	switch code {
	case measure.CodeServerBusy, measure.CodeAccessDenied, measure.CodeAuthFailed:
		return nagiosUnknown
	}
	return nagiosCritical
}

func (ck *checkFlags) evaluate(t measure.Test, res *measure.Result, err error) status {
	var st status
	if err != nil {
		code := measure.Classify(err)
		st.err = err
		st.raise(errorState(code), fmt.Sprintf("%v (result=%s)", err, code))
		st.perfdata = append(st.perfdata, fmt.Sprintf("result_code=%d;;;0;7", int(code)))
		return st
	}
	if res == nil || len(res.Directions) == 0 {
		st.raise(nagiosUnknown, "the test returned no results")
		return st
	}
	multi := len(res.Directions) > 1
	for _, d := range res.Directions {
		name, prefix := string(d.Direction), ""
		if multi {
			prefix = name + "_"
		}
		s := d.Sum
		bps := s.ReceiverBitsPerSecond
		st.figures = append(st.figures, name+" "+rateString(bps))
		switch {
		case ck.minBitrate > 0 && bps < float64(ck.minBitrate):
			st.raise(nagiosCritical, fmt.Sprintf("%s %s below minimum %s", name, rateString(bps), rateString(float64(ck.minBitrate))))
		case ck.warnBitrate > 0 && bps < float64(ck.warnBitrate):
			st.raise(nagiosWarning, fmt.Sprintf("%s %s below warning level %s", name, rateString(bps), rateString(float64(ck.warnBitrate))))
		}
		st.perfdata = append(st.perfdata, fmt.Sprintf("%sbits_per_second=%.0f;%s;%s;0;", prefix, bps,
			lowerBound(ck.warnBitrate), lowerBound(ck.minBitrate)))
		if t.Protocol == measure.UDP {
			if ck.lossGiven && s.LostPercent > ck.maxLoss {
				st.raise(nagiosCritical, fmt.Sprintf("%s loss %.3g%% above %g%%", name, s.LostPercent, ck.maxLoss))
			}
			if ck.maxJitter > 0 && s.JitterMs > msOf(ck.maxJitter) {
				st.raise(nagiosCritical, fmt.Sprintf("%s jitter %.3f ms above %g ms", name, s.JitterMs, msOf(ck.maxJitter)))
			}
			st.perfdata = append(st.perfdata,
				fmt.Sprintf("%sjitter_ms=%.3f;;%s;0;", prefix, s.JitterMs, optFloat(msOf(ck.maxJitter), ck.maxJitter > 0)),
				fmt.Sprintf("%sloss_percent=%.3f%%;;%s;0;100", prefix, s.LostPercent, optFloat(ck.maxLoss, ck.lossGiven)),
				fmt.Sprintf("%slost_packets=%d;;;0;", prefix, s.LostPackets))
		} else if s.Retransmits >= 0 {
			if ck.maxRetransmits >= 0 && s.Retransmits > int64(ck.maxRetransmits) {
				st.raise(nagiosWarning, fmt.Sprintf("%s %d retransmits above %d", name, s.Retransmits, ck.maxRetransmits))
			}
			st.perfdata = append(st.perfdata, fmt.Sprintf("%sretransmits=%d;%s;;0;", prefix, s.Retransmits,
				optInt(ck.maxRetransmits, ck.maxRetransmits >= 0)))
		}
	}
	ck.evaluateLatency(&st, res.Latency)
	return st
}

// evaluateLatency judges the probed RTT (one figure per test, whatever the
// directions) and adds its perfdata. A threshold that cannot be judged
// (no probe possible, no replies) makes the check UNKNOWN.
func (ck *checkFlags) evaluateLatency(st *status, l *measure.Latency) {
	if l == nil {
		return
	}
	limits := ck.maxLoadedRTT > 0 || ck.maxRTTIncrease > 0
	if l.Unavailable != "" {
		if limits {
			st.raise(nagiosUnknown, "no latency probe: "+l.Unavailable)
		}
		return
	}
	if l.Idle.Received > 0 {
		st.perfdata = append(st.perfdata, fmt.Sprintf("idle_rtt_ms=%.3f;;;0;", msOf(l.Idle.Median)))
	}
	if l.Loaded.Received == 0 {
		if limits {
			st.raise(nagiosUnknown, fmt.Sprintf("no reply to the %d latency probes sent under load", l.Loaded.Sent))
		}
		return
	}
	loaded := l.Loaded.Median
	st.figures = append(st.figures, fmt.Sprintf("loaded RTT %.1f ms", msOf(loaded)))
	if ck.maxLoadedRTT > 0 && loaded > ck.maxLoadedRTT {
		st.raise(nagiosCritical, fmt.Sprintf("loaded RTT %.1f ms above %g ms", msOf(loaded), msOf(ck.maxLoadedRTT)))
	}
	st.perfdata = append(st.perfdata, fmt.Sprintf("loaded_rtt_ms=%.3f;;%s;0;", msOf(loaded), optFloat(msOf(ck.maxLoadedRTT), ck.maxLoadedRTT > 0)))
	inc, ok := l.Increase()
	if !ok {
		if ck.maxRTTIncrease > 0 {
			st.raise(nagiosUnknown, "no reply to the idle latency probes: RTT increase unknown")
		}
		return
	}
	if ck.maxRTTIncrease > 0 && inc > ck.maxRTTIncrease {
		st.raise(nagiosCritical, fmt.Sprintf("RTT increase under load %.1f ms above %g ms", msOf(inc), msOf(ck.maxRTTIncrease)))
	}
	st.perfdata = append(st.perfdata, fmt.Sprintf("rtt_increase_ms=%.3f;;%s;;", msOf(inc), optFloat(msOf(ck.maxRTTIncrease), ck.maxRTTIncrease > 0)))
}

// line is the one summary line: "IPERF3 STATE - what | perfdata".
func (st *status) line(t measure.Test) string {
	var b strings.Builder
	fmt.Fprintf(&b, "IPERF3 %s - %s %s", nagiosNames[st.code], hostPortString(t), t.Protocol)
	if len(st.figures) > 0 {
		b.WriteString(" " + strings.Join(st.figures, ", "))
	}
	if len(st.reasons) > 0 {
		b.WriteString(": " + strings.Join(st.reasons, "; "))
	}
	if len(st.perfdata) > 0 {
		b.WriteString(" | " + strings.Join(st.perfdata, " "))
	}
	// One line, whatever an error message carried.
	return strings.ReplaceAll(b.String(), "\n", " ")
}

func rateString(bps float64) string { return strings.TrimSpace(report.FormatBitrate(bps)) }

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// lowerBound is a Nagios threshold range "X:" (alert below X), or empty.
func lowerBound(v int64) string {
	if v <= 0 {
		return ""
	}
	return strconv.FormatInt(v, 10) + ":"
}

func optFloat(v float64, ok bool) string {
	if !ok {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func optInt(v int, ok bool) string {
	if !ok {
		return ""
	}
	return strconv.Itoa(v)
}
