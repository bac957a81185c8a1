package report

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/iperfmon/iperfmon/internal/iperf3text"
	"github.com/iperfmon/iperfmon/measure"
)

// JSON renders res in the shape of iperf3's --json output (start,
// intervals, end with sum_sent/sum_received, sum for UDP, the
// *_bidir_reverse sums for --bidir, cpu_utilization_percent), so tools
// that parse `iperf3 --json` read it unchanged.
func JSON(res *measure.Result) ([]byte, error) { return JSONWith(res, Options{}) }

// JSONWith is JSON with options. With opt.Err set it renders iperf3's
// failure document: whatever is known, plus "error". res may then be nil.
func JSONWith(res *measure.Result, opt Options) ([]byte, error) {
	doc := object{}
	if res == nil {
		doc = doc.add("start", object{}.
			add("connected", []any{}).
			add("version", opt.version()).
			add("system_info", opt.systemInfo())).
			add("intervals", []any{}).
			add("end", object{})
	} else {
		j := jsonWriter{res: res, opt: opt, test: res.Test}
		doc = doc.add("start", j.start()).add("intervals", j.intervals()).add("end", j.end())
		// iperf3 puts -T and --extra-data after end.
		if res.Test.Title != "" {
			doc = doc.add("title", res.Test.Title)
		}
		if res.Test.ExtraData != "" {
			doc = doc.add("extra_data", res.Test.ExtraData)
		}
		if len(res.ServerOutputJSON) > 0 && json.Valid(res.ServerOutputJSON) {
			doc = doc.add("server_output_json", res.ServerOutputJSON)
		} else if res.ServerOutputText != "" {
			doc = doc.add("server_output_text", res.ServerOutputText)
		}
		if res.Latency != nil {
			doc = doc.add("iperfmon", object{}.add("latency", latencyJSON(res.Latency)))
		}
	}
	if opt.Err != nil {
		doc = doc.add("error", opt.Err.Error())
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "\t")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// object is a JSON object that keeps its keys in insertion order, as
// iperf3 (cJSON) prints them.
type object []kv

type kv struct {
	k string
	v any
}

func (o object) add(k string, v any) object { return append(o, kv{k, v}) }

func (o object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, e := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := json.Marshal(e.k)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		v, err := json.Marshal(e.v)
		if err != nil {
			return nil, err
		}
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

type jsonWriter struct {
	res  *measure.Result
	opt  Options
	test measure.Test
}

func (j *jsonWriter) udp() bool { return j.test.Protocol == measure.UDP }

func seconds(d time.Duration) float64 { return d.Seconds() }

func micros(d time.Duration) int64 { return d.Microseconds() }

func (j *jsonWriter) start() object {
	lh, lp := hostPort(j.res.LocalAddr)
	rh, rp := hostPort(j.res.RemoteAddr)
	connected := []any{}
	for _, s := range streamsByID(j.res) {
		connected = append(connected, object{}.
			add("socket", s.s.ID).
			add("local_host", lh).add("local_port", lp).
			add("remote_host", rh).add("remote_port", rp))
	}
	st := j.res.Start.UTC()
	o := object{}.
		add("connected", connected).
		add("version", j.opt.version()).
		add("system_info", j.opt.systemInfo()).
		add("timestamp", object{}.
			add("time", st.Format("Mon, 02 Jan 2006 15:04:05 GMT")).
			add("timesecs", st.Unix()).
			add("timemillisecs", st.UnixMilli()))
	if j.opt.Server {
		o = o.add("accepted_connection", object{}.add("host", rh).add("port", rp))
	} else {
		o = o.add("connecting_to", object{}.add("host", j.test.Host).add("port", j.test.Port))
	}
	o = o.add("cookie", j.res.Cookie)
	if !j.udp() {
		if j.test.MSS > 0 {
			o = o.add("tcp_mss", j.test.MSS)
		} else {
			o = o.add("tcp_mss_default", j.res.TCPMSS)
		}
	}
	rate := max(j.test.Bitrate, 0)
	interval := j.test.Interval.Seconds()
	if j.test.Interval < 0 {
		interval = 0
	}
	o = o.add("target_bitrate", rate).
		add("fq_rate", j.test.FQRate).
		add("sock_bufsize", j.test.Window).
		add("sndbuf_actual", j.res.SndBufActual).
		add("rcvbuf_actual", j.res.RcvBufActual).
		add("test_start", object{}.
			add("protocol", map[bool]string{true: "UDP", false: "TCP"}[j.udp()]).
			add("num_streams", j.test.Parallel).
			add("blksize", j.test.Length).
			add("omit", seconds(j.test.Omit)).
			add("duration", seconds(j.test.Duration)).
			add("bytes", j.test.Bytes).
			add("blocks", j.test.Blocks).
			add("reverse", boolInt(j.test.Reverse)).
			add("tos", j.test.TOS).
			add("target_bitrate", rate).
			add("bidir", boolInt(j.test.Bidir)).
			add("fqrate", j.test.FQRate).
			add("interval", interval).
			// iperf3's --gsro switch: iperfmon uses GSO/GRO whenever the
			// kernel has it, unasked, so the switch is reported off.
			add("gso", 0).
			add("gro", 0))
	return o
}

// intervals lists, per reporting period, every stream's sample and the
// sum per direction ("sum", and "sum_bidir_reverse" for the direction the
// client receives in a bidir test).
func (j *jsonWriter) intervals() []any {
	n := 0
	for _, d := range j.res.Directions {
		n = max(n, len(d.Intervals))
		for _, s := range d.Streams {
			n = max(n, len(s.Intervals))
		}
	}
	out := []any{}
	for i := range n {
		streams := []any{}
		for _, s := range streamsByID(j.res) {
			if i < len(s.s.Intervals) {
				streams = append(streams, j.interval(object{}.add("socket", s.s.ID), s.dir, s.s.Intervals[i], true))
			}
		}
		iv := object{}.add("streams", streams)
		for k := range j.res.Directions {
			d := &j.res.Directions[k]
			if i < len(d.Intervals) {
				iv = iv.add(j.sumName("sum", d), j.interval(object{}, d, d.Intervals[i], false))
			}
		}
		out = append(out, iv)
	}
	return out
}

// sumName suffixes _bidir_reverse to the sums of the server → client
// direction of a bidir test, as iperf3 names them at both ends.
func (j *jsonWriter) sumName(base string, d *measure.DirectionResult) string {
	if len(j.res.Directions) > 1 && d.Direction == measure.Reverse {
		return base + "_bidir_reverse"
	}
	return base
}

func (j *jsonWriter) interval(o object, d *measure.DirectionResult, iv measure.Interval, perStream bool) object {
	sends := localSends(d, j.opt.Server)
	o = o.add("start", iv.Start).
		add("end", iv.End).
		add("seconds", iv.End-iv.Start).
		add("bytes", iv.Bytes).
		add("bits_per_second", iv.BitsPerSecond)
	switch {
	case j.udp() && sends:
		o = o.add("packets", iv.Packets)
	case j.udp():
		o = o.add("jitter_ms", iv.JitterMs).
			add("lost_packets", iv.LostPackets).
			add("packets", iv.Packets).
			add("lost_percent", iperf3text.LostPercent(iv.LostPackets, iv.Packets))
	case sends && j.res.SenderHasRetransmits:
		o = o.add("retransmits", max(iv.Retransmits, 0))
		if perStream {
			o = o.add("snd_cwnd", iv.SndCwnd).add("snd_wnd", iv.SndWnd).
				add("rtt", micros(iv.RTT)).add("rttvar", micros(iv.RTTVar)).
				add("pmtu", iv.PMTU).add("reorder", iv.Reorder)
		}
	}
	return o.add("omitted", iv.Omitted).add("sender", sends)
}

func (j *jsonWriter) end() object {
	streams := []any{}
	for _, s := range streamsByID(j.res) {
		sends := localSends(s.dir, j.opt.Server)
		if j.udp() {
			streams = append(streams, object{}.add("udp", object{}.
				add("socket", s.s.ID).
				add("start", 0).
				add("end", s.s.ReceiverSeconds).
				add("seconds", s.s.ReceiverSeconds).
				add("bytes", s.s.SenderBytes).
				add("bits_per_second", s.s.SenderBitsPerSecond).
				add("jitter_ms", s.s.JitterMs).
				add("lost_packets", s.s.LostPackets).
				add("packets", s.s.Packets).
				add("lost_percent", s.s.LostPercent).
				add("out_of_order", s.s.OutOfOrder).
				add("sender", sends)))
			continue
		}
		snd := object{}.
			add("socket", s.s.ID).
			add("start", 0).
			add("end", s.s.SenderSeconds).
			add("seconds", s.s.SenderSeconds).
			add("bytes", s.s.SenderBytes).
			add("bits_per_second", s.s.SenderBitsPerSecond)
		if j.res.SenderHasRetransmits {
			snd = snd.add("retransmits", max(s.s.Retransmits, 0)).add("reorder", s.s.Reorder)
		}
		// Zero when this host was not the sender (no TCP_INFO), as iperf3.
		snd = snd.add("max_snd_cwnd", s.s.SndCwnd).
			add("max_snd_wnd", s.s.SndWnd).
			add("max_rtt", micros(s.s.RTTMax)).
			add("min_rtt", micros(s.s.RTTMin)).
			add("mean_rtt", micros(s.s.RTTMean))
		rcv := object{}.
			add("socket", s.s.ID).
			add("start", 0).
			add("end", s.s.ReceiverSeconds).
			add("seconds", s.s.ReceiverSeconds).
			add("bytes", s.s.ReceiverBytes).
			add("bits_per_second", s.s.ReceiverBitsPerSecond)
		streams = append(streams, object{}.
			add("sender", snd.add("sender", sends)).
			add("receiver", rcv.add("sender", sends)))
	}
	o := object{}.add("streams", streams)
	for k := range j.res.Directions {
		d := &j.res.Directions[k]
		o = j.sums(o, d)
	}
	l, r := j.res.CPULocal, j.res.CPURemote
	o = o.add("cpu_utilization_percent", object{}.
		add("host_total", l.TotalPercent).
		add("host_user", l.UserPercent).
		add("host_system", l.SystemPercent).
		add("remote_total", r.TotalPercent).
		add("remote_user", r.UserPercent).
		add("remote_system", r.SystemPercent))
	if !j.udp() && j.res.CongestionUsed != "" {
		// Only one algorithm is known (the peer's); on one host both ends
		// use the same default, so it names both like iperf3 does.
		o = o.add("sender_tcp_congestion", j.res.CongestionUsed).
			add("receiver_tcp_congestion", j.res.CongestionUsed)
	}
	return o
}

// sums adds sum_sent and sum_received for one direction, and for UDP the
// receiver-side "sum" that carries jitter and loss.
func (j *jsonWriter) sums(o object, d *measure.DirectionResult) object {
	s := d.Sum
	sends := localSends(d, j.opt.Server)
	sent := object{}.
		add("start", 0).
		add("end", s.SenderSeconds).
		add("seconds", s.SenderSeconds).
		add("bytes", s.SenderBytes).
		add("bits_per_second", s.SenderBitsPerSecond)
	rcvd := object{}.
		add("start", 0).
		add("end", s.ReceiverSeconds).
		add("seconds", s.ReceiverSeconds).
		add("bytes", s.ReceiverBytes).
		add("bits_per_second", s.ReceiverBitsPerSecond)
	if j.udp() {
		sentPackets := s.SenderPackets
		if sentPackets == 0 {
			sentPackets = s.Packets
		}
		sum := object{}.
			add("start", 0).
			add("end", s.ReceiverSeconds).
			add("seconds", s.ReceiverSeconds).
			add("bytes", s.SenderBytes).
			add("bits_per_second", s.SenderBitsPerSecond).
			add("jitter_ms", s.JitterMs).
			add("lost_packets", s.LostPackets).
			add("packets", s.Packets).
			add("lost_percent", s.LostPercent).
			add("sender", sends)
		sent = sent.add("jitter_ms", 0).add("lost_packets", 0).add("packets", sentPackets).add("lost_percent", 0)
		rcvd = rcvd.add("jitter_ms", s.JitterMs).add("lost_packets", s.LostPackets).
			add("packets", s.Packets).add("lost_percent", s.LostPercent)
		o = o.add(j.sumName("sum", d), sum)
	} else if j.res.SenderHasRetransmits {
		sent = sent.add("retransmits", max(s.Retransmits, 0))
	}
	return o.add(j.sumName("sum_sent", d), sent.add("sender", sends)).
		add(j.sumName("sum_received", d), rcvd.add("sender", sends))
}
