//go:build linux

package accuracy

import (
	"encoding/json"
	"fmt"
	"math"
)

// result holds the figures the suite reads from a client's -J output. It is
// read generically (by path, from a map) so that it works the same for
// stock iperf3 and for iperfmon, and a missing figure is NaN or nil rather
// than a zero that would look like a measurement.
type result struct {
	raw map[string]any

	recvBPS, sentBPS     float64 // end.sum_received / end.sum_sent .bits_per_second
	recvBytes, sentBytes float64
	revRecvBPS           float64 // bidir: end.sum_received_bidir_reverse.bits_per_second
	revRecvBytes         float64 // bidir: end.sum_received_bidir_reverse.bytes

	// UDP, receiver side: end.sum_received (falling back to end.sum).
	lostPercent, jitterMs, lostPackets, packets float64
	outOfOrder                                  float64 // end.sum.out_of_order, else summed over end.streams[].udp

	cpuHost, cpuRemote float64 // end.cpu_utilization_percent.{host,remote}_total

	// srvLostPercent is the server's own figure (server_output_json.end.sum),
	// present with --get-server-output against a server run with -J.
	srvLostPercent float64

	intervals []intervalSums
	mss       float64 // start.tcp_mss_default, when reported
}

// intervalSums is one entry of intervals[]: the sum, and for bidir tests
// the reverse direction's sum.
type intervalSums struct {
	sum, rev *interval
}

type interval struct {
	start, end, seconds, bytes, bps float64
	omitted, sender                 bool
}

// parseResult decodes a -J document. An "error" key is returned as an error.
func parseResult(b []byte) (*result, error) {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, &toolError{msg: fmt.Sprintf("output is not JSON: %v", err)}
	}
	if e, ok := m["error"].(string); ok {
		return nil, &toolError{msg: "the client reported an error: " + e}
	}
	r := &result{
		raw:          m,
		recvBPS:      num(m, "end", "sum_received", "bits_per_second"),
		sentBPS:      num(m, "end", "sum_sent", "bits_per_second"),
		recvBytes:    num(m, "end", "sum_received", "bytes"),
		sentBytes:    num(m, "end", "sum_sent", "bytes"),
		revRecvBPS:   num(m, "end", "sum_received_bidir_reverse", "bits_per_second"),
		revRecvBytes: num(m, "end", "sum_received_bidir_reverse", "bytes"),
		cpuHost:      num(m, "end", "cpu_utilization_percent", "host_total"),
		cpuRemote:    num(m, "end", "cpu_utilization_percent", "remote_total"),
		mss:          num(m, "start", "tcp_mss_default"),
		lostPercent:  first(num(m, "end", "sum_received", "lost_percent"), num(m, "end", "sum", "lost_percent")),
		jitterMs:     first(num(m, "end", "sum_received", "jitter_ms"), num(m, "end", "sum", "jitter_ms")),
		lostPackets:  first(num(m, "end", "sum_received", "lost_packets"), num(m, "end", "sum", "lost_packets")),
		packets:      first(num(m, "end", "sum", "packets"), num(m, "end", "sum_received", "packets")),
		outOfOrder:   num(m, "end", "sum", "out_of_order"),

		srvLostPercent: num(m, "server_output_json", "end", "sum", "lost_percent"),
	}
	if math.IsNaN(r.outOfOrder) {
		if streams, ok := get(m, "end", "streams").([]any); ok {
			for _, s := range streams {
				if v := num(s, "udp", "out_of_order"); !math.IsNaN(v) {
					r.outOfOrder = nanAdd(r.outOfOrder, v)
				}
			}
		}
	}
	ivs, _ := get(m, "intervals").([]any)
	for _, iv := range ivs {
		r.intervals = append(r.intervals, intervalSums{sum: parseInterval(get(iv, "sum")), rev: parseInterval(get(iv, "sum_bidir_reverse"))})
	}
	return r, nil
}

// revOwnBPS is the bidir reverse direction's received rate over the
// client's own receive time: end.sum_received_bidir_reverse.bytes over the
// seconds of the non-omitted intervals[].sum_bidir_reverse (the client is
// that direction's receiver, so those are its own intervals).
//
// Stock iperf3 (3.12 and still today) divides those bytes by the wrong
// time: iperf_print_results takes sender and receiver time from the first
// stream only, which in bidir is the client's sending stream, so the
// reverse figure gets the server's receive time of the forward stream
// (about 2 % longer than -t: it runs until TEST_END arrives). Measured:
// 7281400 bytes in intervals covering 2.997 s are 19.44 Mbit/s, printed as
// 18.99 over 3.067 s, on a link whose truth is 19.42.
func (r *result) revOwnBPS() float64 {
	var secs float64
	for _, iv := range r.intervals {
		if iv.rev != nil && !iv.rev.omitted {
			secs += iv.rev.seconds
		}
	}
	if !(secs > 0) {
		return math.NaN()
	}
	return r.revRecvBytes * 8 / secs
}

func parseInterval(v any) *interval {
	if _, ok := v.(map[string]any); !ok {
		return nil
	}
	omitted, _ := get(v, "omitted").(bool)
	sender, _ := get(v, "sender").(bool)
	return &interval{
		start: num(v, "start"), end: num(v, "end"), seconds: num(v, "seconds"),
		bytes: num(v, "bytes"), bps: num(v, "bits_per_second"),
		omitted: omitted, sender: sender,
	}
}

// get walks a path of object keys.
func get(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// num returns the number at path, or NaN when it is absent or not a number.
func num(v any, path ...string) float64 {
	if f, ok := get(v, path...).(float64); ok {
		return f
	}
	return math.NaN()
}

// first returns the first value that is not NaN.
func first(vs ...float64) float64 {
	for _, v := range vs {
		if !math.IsNaN(v) {
			return v
		}
	}
	return math.NaN()
}

func nanAdd(a, b float64) float64 {
	if math.IsNaN(a) {
		return b
	}
	return a + b
}

// toolError is a failure of the tool itself (an "error" key in its JSON,
// output that is not JSON, a server that exits at once), which running the
// case again would only repeat; timeouts are not toolErrors.
type toolError struct{ msg string }

func (e *toolError) Error() string { return e.msg }
