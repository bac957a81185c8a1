package measure

import (
	"encoding/json"
	"time"
)

// Result is everything one test measured. Every output format (human text,
// iperf3 JSON, line protocol, Prometheus text) is rendered from it.
type Result struct {
	Test       Test      // the test as run, defaults applied, password cleared
	Start      time.Time // when the data phase began (TEST_RUNNING)
	LocalAddr  string    // control connection, this end
	RemoteAddr string    // control connection, the server
	Cookie     string

	// Directions holds one entry per direction of data: one for forward or
	// reverse tests, two (Forward then Reverse) for bidirectional tests.
	Directions []DirectionResult

	CPULocal  CPU // this host, whole process, over the test
	CPURemote CPU // as the server reported it

	// Latency is the probed RTT before and under load; nil unless
	// Test.Latency was set.
	Latency *Latency

	// MPTCP says the TCP data streams ran over Multipath TCP (Test.MPTCP,
	// and a server that takes it); false after a fallback to plain TCP.
	MPTCP bool

	SenderHasRetransmits bool   // the sender's kernel reports retransmits
	CongestionUsed       string // congestion algorithm, when known

	// Socket facts iperf3 reports in start: TCP_MAXSEG and the granted
	// SO_SNDBUF / SO_RCVBUF of the first data stream at this end.
	TCPMSS, SndBufActual, RcvBufActual int

	ServerOutputText string          // --get-server-output, text form
	ServerOutputJSON json.RawMessage // --get-server-output with -J
}

// CPU is process CPU use over a test's wall time, in percent as iperf3
// computes it (user+system over elapsed; may exceed 100 on many cores).
type CPU struct {
	TotalPercent  float64
	UserPercent   float64
	SystemPercent float64
}

// DirectionResult is the outcome of the streams that carry data one way.
type DirectionResult struct {
	Direction Direction      // Forward (client sends) or Reverse (server sends)
	Streams   []StreamResult // per stream, in id order
	Sum       Summary        // over all streams of this direction
	// Intervals are the per-interval samples summed over streams (omitted
	// intervals have Omitted set and are not part of Sum).
	Intervals []Interval
}

// Summary totals one direction over the measured time (omit excluded).
type Summary struct {
	Seconds float64 // measured time (the sender's or receiver's, whichever is longer)

	SenderBytes           int64
	SenderSeconds         float64
	SenderBitsPerSecond   float64
	ReceiverBytes         int64
	ReceiverSeconds       float64
	ReceiverBitsPerSecond float64 // the headline figure

	// TCP, sender side. Retransmits is -1 when unknown.
	Retransmits int64
	HasTCPInfo  bool // RTT and Cwnd are filled (this host was the sender)
	RTTMean     time.Duration
	RTTMin      time.Duration
	RTTMax      time.Duration
	SndCwnd     int64         // bytes, the largest seen
	RTTVar      time.Duration // the kernel's RTT variation, last seen (largest over streams)
	PMTU        int64         // path MTU in bytes, last seen (smallest over streams)
	SndWnd      int64         // the receiver's advertised window in bytes, the largest seen
	Reorder     int64         // reordering events the sender's kernel saw (summed over streams)

	// UDP, receiver side.
	JitterMs      float64
	LostPackets   int64
	Packets       int64 // packets the sender sent
	LostPercent   float64
	OutOfOrder    int64
	SenderPackets int64
}

// StreamResult is one stream's totals, both as its sender and its receiver
// saw them (one side comes from the peer's results JSON).
type StreamResult struct {
	ID     int
	Sender bool // this host sent on it
	Summary
	Intervals []Interval
}

// Interval is one reporting period, for one stream or summed.
type Interval struct {
	Start         float64 // seconds since the test's start
	End           float64
	Bytes         int64
	BitsPerSecond float64
	Retransmits   int64 // TCP sender; -1 unknown
	SndCwnd       int64
	RTT           time.Duration
	RTTVar        time.Duration // TCP sender, from TCP_INFO as RTT
	PMTU          int64
	SndWnd        int64
	Reorder       int64
	JitterMs      float64 // UDP receiver
	LostPackets   int64
	Packets       int64
	Omitted       bool
	Sender        bool // measured at the sending end
}

// Headline returns the receiver-side throughput of the first direction, or 0.
func (r *Result) Headline() float64 {
	if r == nil || len(r.Directions) == 0 {
		return 0
	}
	return r.Directions[0].Sum.ReceiverBitsPerSecond
}
