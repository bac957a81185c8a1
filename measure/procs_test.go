package measure

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDataPhaseRaisesProcs: a data phase of n streams runs with at least
// min(n, maxDataProcs) Ps, and GOMAXPROCS is back where it was once every
// phase has stopped.
func TestDataPhaseRaisesProcs(t *testing.T) {
	base := runtime.GOMAXPROCS(0)
	tests := []struct {
		name    string
		streams int
		want    int
	}{
		{"one stream leaves it", 1, base},
		{"six streams", 6, max(base, 6)},
		{"capped", maxDataProcs + 4, max(base, maxDataProcs)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := streamConfig{Protocol: TCP, Length: 16 << 10, Bitrate: 8_000_000, Interval: time.Second}
			p := startPair(t, cfg, make([]bool, tc.streams)) // the server sends
			require.Equal(t, tc.want, runtime.GOMAXPROCS(0))
			p.stop()
			require.Equal(t, base, runtime.GOMAXPROCS(0))
		})
	}
}
