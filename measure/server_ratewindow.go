package measure

import "time"

// rateWindow gives a test's measured rate for the MaxBitrate check: over
// the whole test so far, or over the last averaging period.
type rateWindow struct {
	samples []rateSample
}

type rateSample struct {
	at    time.Time
	bytes int64
}

// rate returns the rate in bits/s at now with b bytes moved, and whether
// enough time passed to judge it.
func (w *rateWindow) rate(now time.Time, b int64, started time.Time, avg time.Duration) (float64, bool) {
	if avg <= 0 {
		el := now.Sub(started)
		if el < 2*time.Second {
			return 0, false
		}
		return float64(b) * 8 / el.Seconds(), true
	}
	w.samples = append(w.samples, rateSample{now, b})
	// Keep one sample at or before now-avg, drop older ones.
	cut := now.Add(-avg)
	i := 0
	for i+1 < len(w.samples) && !w.samples[i+1].at.After(cut) {
		i++
	}
	w.samples = w.samples[i:]
	first := w.samples[0]
	if now.Sub(started) < avg || first.at.After(cut) {
		return 0, false
	}
	return float64(b-first.bytes) * 8 / now.Sub(first.at).Seconds(), true
}
