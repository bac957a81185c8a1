package iperf3

import (
	"fmt"
	"strconv"
	"time"

	"github.com/influxdata/telegraf"
	"github.com/influxdata/telegraf/metric"

	"github.com/iperfmon/iperfmon/measure"
)

// Measurement names. This file is the only home of metric, tag and field
// names: every output format (line protocol, Prometheus text) is rendered
// from what Metrics returns.
const (
	Measurement         = "iperf3"
	IntervalMeasurement = "iperf3_interval"
)

// Metrics turns the outcome of one test into points: one iperf3 point per
// direction of data (two for bidir tests), timestamped at start, plus, when
// intervals is true, one iperf3_interval point per measured interval and
// direction. A failed test (err != nil) still yields one point per
// direction, with the result tag and the result_code and error fields, so
// that a dead path shows up as data.
//
// server is the server tag (the host as configured, or a mesh peer's
// name); test is what was asked for (port, protocol, direction); res is
// what measure.Client.Run returned and may be nil on error; start is when
// the test began.
func Metrics(server string, test measure.Test, res *measure.Result, err error, start time.Time, intervals bool) []telegraf.Metric {
	target := subject{server, test}
	dirs := directionsOf(target)
	if err == nil && res == nil {
		err = fmt.Errorf("%w: no result", measure.ErrProtocol)
	}
	out := make([]telegraf.Metric, 0, len(dirs))
	for _, dir := range dirs {
		tags := tagsFor(target, dir)
		if err != nil {
			out = append(out, failure(tags, err, start))
			continue
		}
		d := findDirection(res, dir)
		if d == nil {
			out = append(out, failure(tags, fmt.Errorf("%w: the results have no %s direction", measure.ErrProtocol, dir), start))
			continue
		}
		tags["result"] = measure.CodeSuccess.String()
		out = append(out, metric.New(Measurement, tags, summaryFields(target, res, d), start))
		if intervals {
			// Interval times count from the start of the data phase.
			at := res.Start
			if at.IsZero() {
				at = start
			}
			out = append(out, intervalMetrics(target, dir, d, at)...)
		}
	}
	return out
}

// directionsOf lists the directions a target's test carries data in.
func directionsOf(target subject) []measure.Direction {
	switch {
	case target.Test.Bidir:
		return []measure.Direction{measure.Forward, measure.Reverse}
	case target.Test.Reverse:
		return []measure.Direction{measure.Reverse}
	}
	return []measure.Direction{measure.Forward}
}

func findDirection(res *measure.Result, dir measure.Direction) *measure.DirectionResult {
	for i := range res.Directions {
		if res.Directions[i].Direction == dir {
			return &res.Directions[i]
		}
	}
	return nil
}

// subject is what a point is about: the server tag and the test asked for.
type subject struct {
	Server string
	Test   measure.Test
}

func tagsFor(target subject, dir measure.Direction) map[string]string {
	protocol := target.Test.Protocol
	if protocol == "" {
		protocol = measure.TCP
	}
	port := target.Test.Port
	if port == 0 {
		port = measure.DefaultPort
	}
	return map[string]string{
		"server":    target.Server,
		"port":      strconv.Itoa(port),
		"protocol":  string(protocol),
		"direction": string(dir),
		"bidir":     strconv.FormatBool(target.Test.Bidir),
	}
}

func failure(tags map[string]string, err error, start time.Time) telegraf.Metric {
	code := measure.Classify(err)
	tags["result"] = code.String()
	return metric.New(Measurement, tags, map[string]any{
		"result_code": int64(code),
		"error":       err.Error(),
	}, start)
}

// summaryFields are the fields of a successful direction. Integer fields
// are int64 and rates, times and percentages float64, always: field types
// never change.
func summaryFields(target subject, res *measure.Result, d *measure.DirectionResult) map[string]any {
	s := d.Sum
	streams := len(d.Streams)
	if streams == 0 {
		streams = max(target.Test.Parallel, 1)
	}
	f := map[string]any{
		"result_code":               int64(measure.CodeSuccess),
		"bits_per_second":           s.ReceiverBitsPerSecond,
		"sender_bits_per_second":    s.SenderBitsPerSecond,
		"bytes_sent":                s.SenderBytes,
		"bytes_received":            s.ReceiverBytes,
		"duration_seconds":          s.Seconds,
		"streams":                   int64(streams),
		"cpu_local_total_percent":   res.CPULocal.TotalPercent,
		"cpu_local_user_percent":    res.CPULocal.UserPercent,
		"cpu_local_system_percent":  res.CPULocal.SystemPercent,
		"cpu_remote_total_percent":  res.CPURemote.TotalPercent,
		"cpu_remote_user_percent":   res.CPURemote.UserPercent,
		"cpu_remote_system_percent": res.CPURemote.SystemPercent,
	}
	latencyFields(f, res.Latency)
	if target.Test.Protocol == measure.UDP {
		f["jitter_ms"] = s.JitterMs
		f["lost_packets"] = s.LostPackets
		f["packets"] = s.Packets
		f["lost_percent"] = s.LostPercent
		f["out_of_order_packets"] = s.OutOfOrder
		return f
	}
	// TCP: retransmits only when the sender's kernel reports them; RTT and
	// cwnd only when this host was the sender and read TCP_INFO. Unknown
	// values are left out rather than written as zero.
	if s.Retransmits >= 0 {
		f["retransmits"] = s.Retransmits
	}
	if s.HasTCPInfo {
		f["rtt_ms"] = ms(s.RTTMean)
		f["rtt_min_ms"] = ms(s.RTTMin)
		f["rtt_max_ms"] = ms(s.RTTMax)
		f["snd_cwnd_bytes"] = s.SndCwnd
		// TCP_INFO's rttvar, pmtu, snd_wnd and reord_seen, as iperf3 3.22's
		// -J has them: last seen, and for the window the largest.
		f["rtt_var_ms"] = ms(s.RTTVar)
		f["pmtu_bytes"] = s.PMTU
		f["snd_wnd_bytes"] = s.SndWnd
		f["reorder"] = s.Reorder
	}
	return f
}

// latencyFields adds the probed RTT of the test (the same on both points of
// a bidir test: the probe measures the path, loaded both ways). A phase
// without replies leaves its fields out; idle_rtt_ms and loaded_rtt_ms are
// medians, rtt_increase_ms is their difference.
func latencyFields(f map[string]any, l *measure.Latency) {
	if l == nil {
		return
	}
	if l.Idle.Received > 0 {
		f["idle_rtt_ms"] = ms(l.Idle.Median)
	}
	if s := l.Loaded; s.Received > 0 {
		f["loaded_rtt_ms"] = ms(s.Median)
		f["loaded_rtt_min_ms"] = ms(s.Min)
		f["loaded_rtt_p90_ms"] = ms(s.P90)
		f["loaded_rtt_max_ms"] = ms(s.Max)
	}
	if inc, ok := l.Increase(); ok {
		f["rtt_increase_ms"] = ms(inc)
	}
}

// intervalMetrics are the measured (not omitted) intervals of one
// direction, each timestamped at its own start (dataStart + its offset).
func intervalMetrics(target subject, dir measure.Direction, d *measure.DirectionResult, dataStart time.Time) []telegraf.Metric {
	udp := target.Test.Protocol == measure.UDP
	out := make([]telegraf.Metric, 0, len(d.Intervals))
	for _, iv := range d.Intervals {
		if iv.Omitted {
			continue
		}
		tags := tagsFor(target, dir)
		tags["result"] = measure.CodeSuccess.String()
		f := map[string]any{"bits_per_second": iv.BitsPerSecond}
		switch {
		case udp && !iv.Sender: // jitter and loss are known at the receiving end
			f["jitter_ms"] = iv.JitterMs
			f["lost_packets"] = iv.LostPackets
		case !udp && iv.Sender && iv.Retransmits >= 0:
			f["retransmits"] = iv.Retransmits
		}
		at := dataStart.Add(time.Duration(iv.Start * float64(time.Second)))
		out = append(out, metric.New(IntervalMeasurement, tags, f, at))
	}
	return out
}

// addAgent tags a point with this agent's name (fleets, meshes, or an
// agent key set), and the iperf3 point of a test run in a fleet or mesh
// slot with slot_late_ms: how late it started against its slot, so that
// drift between agents shows.
func addAgent(m telegraf.Metric, agent string, late *time.Duration) {
	if agent == "" {
		return
	}
	m.AddTag("agent", agent)
	if late != nil && m.Name() == Measurement {
		m.AddField("slot_late_ms", ms(*late))
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
