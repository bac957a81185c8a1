package iperf3wire

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestResultsSanitize pins down what a lying peer's results turn into
// (found by FuzzBuildDirections: negative bytes reached Summary).
func TestResultsSanitize(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want StreamResults
		cpu  Number
	}{
		{"negative", `{"cpu_util_total":-5,"streams":[{"id":1,"bytes":-1,"retransmits":-7,"jitter":-0.5,"errors":-3,"packets":-2,"start_time":-1,"end_time":-1}]}`,
			StreamResults{ID: 1, Retransmits: -1}, 0},
		{"huge", `{"cpu_util_total":1e308,"streams":[{"id":1,"bytes":1e308,"retransmits":1e400,"jitter":1e300,"errors":1e20,"packets":1e20,"end_time":1e308}]}`,
			StreamResults{ID: 1, Bytes: maxPeerCount, Retransmits: maxPeerCount, Jitter: maxPeerJitter, Errors: maxPeerCount, Packets: maxPeerCount, EndTime: maxPeerSeconds}, maxPeerCPU},
		{"unknown-as-uint64", `{"sender_has_retransmits":18446744073709551615,"streams":[{"id":3,"bytes":100,"retransmits":18446744073709551615,"end_time":1.000418}]}`,
			StreamResults{ID: 3, Bytes: 100, Retransmits: -1, EndTime: 1.000418}, 0},
		{"omitted-above-total", `{"streams":[{"id":1,"errors":5,"omitted_errors":9,"packets":10,"omitted_packets":20,"end_time":1}]}`,
			StreamResults{ID: 1, Errors: 5, OmittedErrors: 5, Packets: 10, OmittedPackets: 10, EndTime: 1}, 0},
		{"denormal-time", `{"streams":[{"id":1,"bytes":1e15,"end_time":4.9e-324}]}`,
			StreamResults{ID: 1, Bytes: 1e15}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Results
			require.NoError(t, ReadJSON(bytes.NewReader(frame([]byte(tc.in))), MaxResultsJSON, &r))
			require.Len(t, r.Streams, 1)
			require.Equal(t, tc.want, r.Streams[0])
			require.Equal(t, tc.cpu, r.CPUUtilTotal)
		})
	}
}
