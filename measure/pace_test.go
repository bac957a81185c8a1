package measure

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// drain runs a sender against the pacer on a synthetic clock: every step
// it refills and sends whole datagrams while the bucket is positive, as
// the UDP loops do. It returns the bytes sent and the largest release.
func drain(p *pacer, now *time.Time, step time.Duration, steps, size int) (sent, largest float64) {
	for range steps {
		*now = now.Add(step)
		p.refill(*now)
		var burst float64
		for p.tokens > 0 {
			p.spend(size)
			burst += float64(size)
		}
		sent += burst
		largest = max(largest, burst)
	}
	return sent, largest
}

func TestPacerBoundsBursts(t *testing.T) {
	const size = 1400
	tests := []struct {
		name      string
		bps       int64
		stall     time.Duration // before the steady steps
		deep      bool
		wantDepth float64 // bytes
	}{
		{"100M no stall", 100e6, 0, false, 4 * size},
		{"450M no stall", 450e6, 0, false, 450e6 / 8 * 250e-6},
		{"450M after 20ms stall", 450e6, 20 * time.Millisecond, false, 450e6 / 8 * 250e-6},
		{"1G after 100ms stall", 1e9, 100 * time.Millisecond, false, 1e9 / 8 * 250e-6},
		{"1G after 2s stall (arrears capped)", 1e9, 2 * time.Second, false, 1e9 / 8 * 250e-6},
		{"tcp deep after 20ms stall", 450e6, 20 * time.Millisecond, true, 450e6/8*250e-6 + 450e6/8*0.5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Unix(1000, 0)
			p := newPacer(tc.bps, size, start)
			if tc.deep {
				p.deep()
			}
			require.InDelta(t, tc.wantDepth, p.depth, 1)
			rate := float64(tc.bps) / 8
			now := start.Add(tc.stall)
			p.refill(now)
			// Whatever the stall, one release is at most the peak bucket
			// or, woken late, paceLate at the peak rate.
			first := 0.0
			for p.tokens > 0 {
				p.spend(size)
				first += size
			}
			require.LessOrEqual(t, first, max(p.depth, rate*p.peakRate()*paceLate.Seconds())+size)
			arrears := min(rate*tc.stall.Seconds(), p.maxOwed) - first
			require.InDelta(t, max(arrears, 0), max(p.owed, 0), size)
			// Steady 100 µs steps for 1 s: no step releases more than the
			// peak bucket holds, or what a step accrues at the peak rate
			// while arrears of more than 62 ms (peakRate over 2.5) are
			// made up; the arrears are made up within the second
			// (peakRate grows with them).
			const steps = 10_000
			step := 100 * time.Microsecond
			bound := max(p.depth, rate*p.peakRate()*step.Seconds())
			sent, largest := drain(p, &now, step, steps, size)
			require.LessOrEqual(t, largest, bound+size)
			if tc.stall <= 20*time.Millisecond {
				require.LessOrEqual(t, largest, p.depth+size)
			}
			second := rate * steps * step.Seconds()
			want := second + max(arrears, 0)
			require.InEpsilon(t, want, sent, 0.01)
		})
	}
}

// TestPacerForgivesOmittedArrears: what the average owes for the omitted
// seconds is dropped at the end of -O, so that making it up does not
// overshoot -b in the measured seconds.
// TestPacerPeakRate: short arrears are made up at a quarter over the
// rate, long ones faster, by their length over paceHorizon.
func TestPacerPeakRate(t *testing.T) {
	start := time.Unix(1000, 0)
	for _, tc := range []struct {
		stall time.Duration
		want  float64
	}{
		{0, paceCatchUp},
		{250 * time.Microsecond, paceCatchUp}, // within the peak bucket
		{10*time.Millisecond + 250*time.Microsecond, paceCatchUp + 0.2},
		{50*time.Millisecond + 250*time.Microsecond, paceCatchUp + 1},
	} {
		p := newPacer(450e6, 1400, start)
		p.refill(start.Add(tc.stall))
		require.InDelta(t, tc.want, p.peakRate(), 0.001, "after a %v stall", tc.stall)
	}
}

func TestPacerForgivesOmittedArrears(t *testing.T) {
	start := time.Unix(1000, 0)
	p := newPacer(100e6, 1400, start)
	done := make(chan struct{})
	p.forgiveAt(done)
	p.refill(start.Add(50 * time.Millisecond))
	require.Greater(t, p.owed, p.depth)
	close(done)
	p.refill(start.Add(50 * time.Millisecond))
	require.LessOrEqual(t, p.owed, p.depth)
	require.Nil(t, p.omitDone)
}

// TestPacerWaitReleasesSmallBatches runs the real clock: a sender at
// 450 Mbit/s never gets more than the bucket per wait, and the total stays
// under the rate plus the bucket and the catch-up. (The lower bound is the
// host's: a busy host may not run the sender on time.)
func TestPacerWaitReleasesSmallBatches(t *testing.T) {
	const size, bps = 1400, 450e6
	start := time.Now()
	p := newPacer(bps, size, start)
	quit := make(chan struct{})
	var sent, largest, peakRate float64
	for time.Since(start) < 200*time.Millisecond {
		require.True(t, p.wait(quit))
		peakRate = max(peakRate, p.peakRate())
		var burst float64
		for p.tokens > 0 {
			p.spend(size)
			burst += size
		}
		sent += burst
		largest = max(largest, burst)
	}
	elapsed := time.Since(start).Seconds()
	// A late wake-up (a loaded host) may carry up to paceLate at the
	// peak rate.
	require.LessOrEqual(t, largest, max(p.depth, bps/8*peakRate*paceLate.Seconds())+size)
	require.LessOrEqual(t, sent, bps/8*elapsed+p.depth+size)
	require.Greater(t, sent, bps/8*elapsed*0.5)
}

func TestPacerWaitQuits(t *testing.T) {
	p := newPacer(8000, 1000, time.Now()) // one block a second
	p.spend(10_000)
	quit := make(chan struct{})
	close(quit)
	require.False(t, p.wait(quit))
}
