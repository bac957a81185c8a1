package report

import (
	"time"

	"github.com/iperfmon/iperfmon/measure"
)

// latencyJSON is the "iperfmon" key of -J: iperfmon's own additions, kept
// under one key that no iperf3 version uses so that iperf3 parsers skip it.
// Times are in milliseconds; the stats of a phase without replies are left
// out, as are the summary figures that need them.
func latencyJSON(l *measure.Latency) object {
	o := object{}
	if l.Unavailable != "" {
		return o.add("unavailable", l.Unavailable).add("target", l.Target)
	}
	o = o.add("method", l.Method).add("target", l.Target).
		add("probe_interval_ms", msf(measure.ProbeInterval)).
		add("idle", rttJSON(l.Idle)).add("loaded", rttJSON(l.Loaded))
	if l.Idle.Received > 0 {
		o = o.add("idle_rtt_ms", msf(l.Idle.Median))
	}
	if l.Loaded.Received > 0 {
		o = o.add("loaded_rtt_ms", msf(l.Loaded.Median))
	}
	if inc, ok := l.Increase(); ok {
		o = o.add("rtt_increase_ms", msf(inc))
	}
	return o
}

func rttJSON(s measure.RTTStats) object {
	o := object{}.add("sent", s.Sent).add("received", s.Received)
	if !s.First.IsZero() {
		// When the phase's probes were sent, as Unix seconds.
		o = o.add("first_probe_unix", unixSeconds(s.First)).add("last_probe_unix", unixSeconds(s.Last))
	}
	if s.Received == 0 {
		return o
	}
	return o.add("median_ms", msf(s.Median)).add("min_ms", msf(s.Min)).
		add("p90_ms", msf(s.P90)).add("max_ms", msf(s.Max))
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixMicro()) / 1e6 }

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// latencyLine is the text report's summary of the probe; nothing when no
// probe ran (the reason was logged on stderr).
func (t *textWriter) latencyLine() {
	l := t.res.Latency
	if l == nil || l.Unavailable != "" {
		return
	}
	t.printf("Latency (ICMP echo, %d/s):", int(time.Second/measure.ProbeInterval))
	if l.Idle.Received > 0 {
		t.printf(" idle %.2f ms", msf(l.Idle.Median))
	} else {
		t.printf(" idle -")
	}
	t.printf(" (%d/%d replies),", l.Idle.Received, l.Idle.Sent)
	if s := l.Loaded; s.Received > 0 {
		t.printf(" loaded %.2f ms (min %.2f, p90 %.2f, max %.2f; %d/%d replies)",
			msf(s.Median), msf(s.Min), msf(s.P90), msf(s.Max), s.Received, s.Sent)
	} else {
		t.printf(" loaded - (%d/%d replies)", s.Received, s.Sent)
	}
	if inc, ok := l.Increase(); ok {
		t.printf(", increase %+.2f ms", msf(inc))
	}
	t.printf("; medians\n")
}
