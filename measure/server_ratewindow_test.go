package measure

import (
	"testing"
	"time"
)

func TestRateWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	tests := []struct {
		name string
		avg  time.Duration
		// bytes per 0.5 s tick for 10 s; the rate reported at the end
		burst func(tick int) int64
		want  float64
	}{
		{"whole test", 0, func(int) int64 { return 1_000_000 }, 16e6},
		{"last 2 s of a late burst", 2 * time.Second, func(i int) int64 {
			if i >= 16 {
				return 4_000_000
			}
			return 0
		}, 64e6},
		{"whole test averages the burst away", 0, func(i int) int64 {
			if i >= 16 {
				return 4_000_000
			}
			return 0
		}, 12.8e6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var w rateWindow
			var b int64
			var got float64
			var ok bool
			for i := 1; i <= 20; i++ {
				b += tc.burst(i - 1)
				got, ok = w.rate(at(float64(i)/2), b, t0, tc.avg)
			}
			if !ok || got != tc.want {
				t.Fatalf("rate = %v, %v; want %v", got, ok, tc.want)
			}
			if len(w.samples) > 6 {
				t.Fatalf("%d samples kept; want only the averaging period's", len(w.samples))
			}
		})
	}
	var w rateWindow
	if _, ok := w.rate(at(0.5), 1, t0, 5*time.Second); ok {
		t.Fatal("judged before one averaging period passed")
	}
}
