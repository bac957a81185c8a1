package stockiperf

import (
	"encoding/json"
	"fmt"
)

// Generic is what tools that wrap `iperf3 --json` typically read (the
// Telegraf exec recipes, Nagios wrappers, perfSONAR-style scripts). A
// document that decodes into it with every pointer set passes for
// iperf3's output.
type Generic struct {
	Start struct {
		Version   *string `json:"version"`
		TestStart *struct {
			Protocol   *string `json:"protocol"`
			NumStreams *int    `json:"num_streams"`
			Duration   *int    `json:"duration"`
			Reverse    *int    `json:"reverse"`
		} `json:"test_start"`
		ConnectingTo *struct {
			Host *string `json:"host"`
			Port *int    `json:"port"`
		} `json:"connecting_to"`
	} `json:"start"`
	Intervals []struct {
		Sum *struct {
			BitsPerSecond *float64 `json:"bits_per_second"`
		} `json:"sum"`
	} `json:"intervals"`
	End struct {
		SumSent     *Sum `json:"sum_sent"`
		SumReceived *Sum `json:"sum_received"`
		Sum         *Sum `json:"sum"` // UDP
		CPU         *struct {
			HostTotal   *float64 `json:"host_total"`
			RemoteTotal *float64 `json:"remote_total"`
		} `json:"cpu_utilization_percent"`
		SumSentBidirReverse     *Sum `json:"sum_sent_bidir_reverse"`
		SumReceivedBidirReverse *Sum `json:"sum_received_bidir_reverse"`
	} `json:"end"`
	Error *string `json:"error"`
}

// Sum is one of end's sums.
type Sum struct {
	Bytes         *int64   `json:"bytes"`
	BitsPerSecond *float64 `json:"bits_per_second"`
	Seconds       *float64 `json:"seconds"`
	Retransmits   *int64   `json:"retransmits"`
	JitterMs      *float64 `json:"jitter_ms"`
	LostPercent   *float64 `json:"lost_percent"`
	LostPackets   *int64   `json:"lost_packets"`
	Packets       *int64   `json:"packets"`
}

// ParseGeneric decodes b and checks that everything a wrapper reads for a
// successful test of this kind is there: the headline figures
// end.sum_received.bits_per_second and end.cpu_utilization_percent, TCP
// end.sum_sent.retransmits (when the sender reports them), UDP end.sum
// jitter and loss, and the *_bidir_reverse sums for bidir tests.
func ParseGeneric(b []byte, udp, retransmits, bidir bool) (*Generic, error) {
	var g Generic
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, fmt.Errorf("not iperf3 JSON: %w", err)
	}
	if g.Error != nil {
		return &g, fmt.Errorf("error key set: %s", *g.Error)
	}
	var missing []string
	need := func(ok bool, path string) {
		if !ok {
			missing = append(missing, path)
		}
	}
	need(g.Start.Version != nil, "start.version")
	need(g.Start.TestStart != nil && g.Start.TestStart.Protocol != nil && g.Start.TestStart.NumStreams != nil,
		"start.test_start.{protocol,num_streams}")
	need(len(g.Intervals) > 0 && g.Intervals[0].Sum != nil && g.Intervals[0].Sum.BitsPerSecond != nil,
		"intervals[0].sum.bits_per_second")
	need(g.End.SumSent != nil && g.End.SumSent.BitsPerSecond != nil && g.End.SumSent.Bytes != nil,
		"end.sum_sent.{bits_per_second,bytes}")
	need(g.End.SumReceived != nil && g.End.SumReceived.BitsPerSecond != nil && g.End.SumReceived.Bytes != nil,
		"end.sum_received.{bits_per_second,bytes}")
	need(g.End.CPU != nil && g.End.CPU.HostTotal != nil && g.End.CPU.RemoteTotal != nil,
		"end.cpu_utilization_percent.{host_total,remote_total}")
	if udp {
		need(g.End.Sum != nil && g.End.Sum.JitterMs != nil && g.End.Sum.LostPercent != nil &&
			g.End.Sum.LostPackets != nil && g.End.Sum.Packets != nil,
			"end.sum.{jitter_ms,lost_percent,lost_packets,packets}")
	} else if retransmits {
		need(g.End.SumSent != nil && g.End.SumSent.Retransmits != nil, "end.sum_sent.retransmits")
	}
	if bidir {
		need(g.End.SumSentBidirReverse != nil && g.End.SumReceivedBidirReverse != nil &&
			g.End.SumReceivedBidirReverse.BitsPerSecond != nil,
			"end.sum_{sent,received}_bidir_reverse")
	}
	if len(missing) > 0 {
		return &g, fmt.Errorf("missing %v", missing)
	}
	return &g, nil
}
