package measure

import (
	"fmt"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
	"github.com/stretchr/testify/require"
)

// TestUDPLossAfterOmitOlderReceiver: a receiver before 3.13 (stock iperf3
// 3.12) sends cumulative errors and highest sequence but no omitted_errors,
// and its byte count starts at the end of -O. The loss after -O must still
// be that of the measured seconds, not all errors over the measured
// datagrams (which is what 3.12 itself prints: (t+O)/t times the loss).
func TestUDPLossAfterOmitOlderReceiver(t *testing.T) {
	const length = 1400
	// The client sent 4000 datagrams, 1000 of them during -O; the receiver
	// dropped each 20th: 50 during -O, 150 after.
	tests := []struct {
		name        string
		omitSent    int64  // datagrams the sender sent during -O
		omitErrors  string // the receiver's omitted_errors field, "" = absent
		rcvDatagram int64  // datagrams the receiver counted after its -O
		wantLost    int64
	}{
		{"3.12 receiver", 1000, "", 2850, 150},
		{"3.13 receiver", 1000, `, "omitted_errors": 50`, 2850, 150},
		// The receiver's omit timer ends a moment before the sender's: it
		// counts a few omitted datagrams too. The error stays that small.
		{"3.12 receiver, early omit end", 1000, "", 2853, 147},
		{"3.12 receiver, no -O", 0, "", 3800, 200},
		// Figures that do not fit together never give negative or more
		// loss than the receiver's own error count.
		{"3.12 receiver, more bytes than sequence numbers", 1000, "", 3100, 0},
		{"3.12 receiver, fewer bytes than errors allow", 1000, "", 100, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := streamConfig{Protocol: UDP, Length: length, Omit: time.Duration(min(tt.omitSent, 1)) * time.Second}
			d := &dataPhase{cfg: cfg}
			d.streams = append(d.streams, newDataStream(1, true, nil, cfg))
			local := &iperf3wire.Results{Streams: []iperf3wire.StreamResults{{
				ID: 1, Bytes: iperf3wire.Number((4000 - tt.omitSent) * length), Retransmits: -1,
				Packets: 4000, OmittedPackets: iperf3wire.Number(tt.omitSent), EndTime: 3,
			}}}
			raw := fmt.Sprintf(`{"cpu_util_total": 1, "cpu_util_user": 1, "cpu_util_system": 0, "sender_has_retransmits": -1,
				"streams": [{"id": 1, "bytes": %d, "retransmits": -1, "jitter": 0.0001, "errors": 200%s, "packets": 4000,
				"start_time": 0, "end_time": 3.05}]}`, tt.rcvDatagram*length, tt.omitErrors)
			remote, err := decodeResults([]byte(raw))
			require.NoError(t, err)

			dirs := buildDirections(cfg, true, d, local, remote)
			require.Len(t, dirs, 1)
			sum := dirs[0].Sum
			require.Equal(t, tt.wantLost, sum.LostPackets)
			require.Equal(t, 4000-tt.omitSent, sum.Packets)
			require.InDelta(t, 100*float64(tt.wantLost)/float64(4000-tt.omitSent), sum.LostPercent, 1e-9)
		})
	}
}

// TestEngineShortLastIntervalWithData: a Stop that comes a little after an
// interval tick (less than a tenth of an interval, as on a busy host) must
// not drop the data of that sliver from the intervals; iperf3 drops a short
// last interval only when it carried no data. The sender's intervals then
// add up to its total exactly.
func TestEngineShortLastIntervalWithData(t *testing.T) {
	for _, proto := range []Protocol{TCP, UDP} {
		t.Run(string(proto), func(t *testing.T) {
			cfg := streamConfig{Protocol: proto, Length: 1400, Bitrate: 20_000_000, Interval: 500 * time.Millisecond}
			p := startPair(t, cfg, []bool{true})
			time.Sleep(1020 * time.Millisecond) // 20 ms past the second tick
			p.stop()
			dirs := p.directions()
			require.NotEmpty(t, dirs)
			var ivBytes int64
			for _, iv := range dirs[0].Intervals {
				ivBytes += iv.Bytes
			}
			require.Equal(t, dirs[0].Sum.SenderBytes, ivBytes)
		})
	}
}
