package iperf3wire

import (
	"encoding/json"
	"math"
)

// Results is the results JSON both ends exchange after TEST_END.
type Results struct {
	CPUUtilTotal         Number          `json:"cpu_util_total"`
	CPUUtilUser          Number          `json:"cpu_util_user"`
	CPUUtilSystem        Number          `json:"cpu_util_system"`
	SenderHasRetransmits Number          `json:"sender_has_retransmits"`
	CongestionUsed       string          `json:"congestion_used,omitempty"`
	Streams              []StreamResults `json:"streams"`
	ServerOutputText     string          `json:"server_output_text,omitempty"`
	ServerOutputJSON     json.RawMessage `json:"server_output_json,omitempty"`
}

// StreamResults is one stream's entry in the results JSON.
type StreamResults struct {
	ID             Number `json:"id"`
	Bytes          Number `json:"bytes"`
	Retransmits    Number `json:"retransmits"`
	Jitter         Number `json:"jitter"` // seconds
	Errors         Number `json:"errors"` // lost datagrams
	OmittedErrors  Number `json:"omitted_errors"`
	Packets        Number `json:"packets"`
	OmittedPackets Number `json:"omitted_packets"`
	StartTime      Number `json:"start_time"`
	EndTime        Number `json:"end_time"`
}

// Bounds on what a peer may report in its results JSON. Anything outside is
// a lie or garbage, and must not reach metrics as NaN, Inf, a negative
// count or an int64 that overflows when streams are summed.
const (
	maxPeerCount   = 1 << 53 // bytes, packets, errors: exact in float64; 128 streams stay far below 2^63
	maxPeerSeconds = 1e9     // start/end times
	maxPeerJitter  = 1e6     // seconds
	maxPeerCPU     = 1e6     // percent (iperf3's figure can exceed 100 on many cores)
)

// UnmarshalJSON decodes a peer's results and clamps every figure into its
// meaningful range (see sanitize), so that no caller has to.
func (r *Results) UnmarshalJSON(b []byte) error {
	type plain Results // no methods: avoids recursion
	if err := json.Unmarshal(b, (*plain)(r)); err != nil {
		return err
	}
	r.sanitize()
	return nil
}

// sanitize clamps peer-reported figures: NaN and negatives to 0 (or to -1,
// iperf3's "unknown", for retransmits), huge values to the bounds above,
// omitted counts to their totals, and times to whole microseconds (as iperf3
// reports them) so that a rate never divides by a denormal.
func (r *Results) sanitize() {
	r.CPUUtilTotal = clampNumber(r.CPUUtilTotal, 0, maxPeerCPU)
	r.CPUUtilUser = clampNumber(r.CPUUtilUser, 0, maxPeerCPU)
	r.CPUUtilSystem = clampNumber(r.CPUUtilSystem, 0, maxPeerCPU)
	r.SenderHasRetransmits = clampUnknown(r.SenderHasRetransmits, 1)
	for i := range r.Streams {
		s := &r.Streams[i]
		s.Bytes = clampNumber(s.Bytes, 0, maxPeerCount)
		s.Retransmits = clampUnknown(s.Retransmits, maxPeerCount)
		s.Jitter = clampNumber(s.Jitter, 0, maxPeerJitter)
		s.Errors = clampNumber(s.Errors, 0, maxPeerCount)
		s.OmittedErrors = clampNumber(s.OmittedErrors, 0, float64(s.Errors))
		s.Packets = clampNumber(s.Packets, 0, maxPeerCount)
		s.OmittedPackets = clampNumber(s.OmittedPackets, 0, float64(s.Packets))
		s.StartTime = Number(math.Round(float64(clampNumber(s.StartTime, 0, maxPeerSeconds))*1e6) / 1e6)
		s.EndTime = Number(math.Round(float64(clampNumber(s.EndTime, 0, maxPeerSeconds))*1e6) / 1e6)
	}
}

// clampNumber maps NaN to lo and clamps n into [lo, hi].
func clampNumber(n Number, lo, hi float64) Number {
	f := float64(n)
	switch {
	case math.IsNaN(f) || f < lo:
		return Number(lo)
	case f > hi:
		return Number(hi)
	}
	return n
}

// clampUnknown is clampNumber(n, 0, hi) where any negative or NaN value
// means iperf3's "unknown" (-1).
func clampUnknown(n Number, hi float64) Number {
	if f := float64(n); math.IsNaN(f) || f < 0 {
		return -1
	}
	return clampNumber(n, 0, hi)
}
