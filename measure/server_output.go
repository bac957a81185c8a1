package measure

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/iperfmon/iperfmon/internal/iperf3text"
	"github.com/iperfmon/iperfmon/internal/iperf3wire"
)

// The server's own report of a test, sent to clients that ask for it with
// --get-server-output: text in the shape iperf3's server prints, or JSON
// when the parameters carry json_output.

// serverSends says whether this server sent on the streams of direction d.
func serverSends(d Direction) bool { return d == Reverse }

func serverOutputText(t *serverTest, p *iperf3wire.Params, res *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Accepted connection from %s, port %d\n", t.client.Addr(), t.client.Port())
	for i, c := range t.ordered {
		l, r := addrPortOf(c.LocalAddr()), addrPortOf(c.RemoteAddr())
		fmt.Fprintf(&b, "[%3d] local %s port %d connected to %s port %d\n", streamID(i), l.Addr(), l.Port(), r.Addr(), r.Port())
	}
	udp := p.UDP
	for _, d := range res.Directions {
		sender := serverSends(d.Direction)
		header := "[ ID]" + iperf3text.Columns
		switch {
		case udp && !sender:
			header += iperf3text.ColsJitter
		case udp:
			header += iperf3text.ColsDatagrams
		case sender && res.SenderHasRetransmits:
			header += iperf3text.ColsRetr
		}
		header += "\n"
		if len(res.Directions) > 1 {
			role := "RX"
			if sender {
				role = "TX"
			}
			fmt.Fprintf(&b, "[%s-S] %s\n", role, strings.TrimSpace(header))
		} else {
			b.WriteString(header)
		}
		n := 0
		for _, s := range d.Streams {
			n = max(n, len(s.Intervals))
		}
		for i := range n {
			for _, s := range d.Streams {
				if i < len(s.Intervals) {
					writeTextLine(&b, fmt.Sprintf("[%3d]", s.ID), s.Intervals[i], udp, sender, "")
				}
			}
			if len(d.Streams) > 1 && i < len(d.Intervals) {
				writeTextLine(&b, "[SUM]", d.Intervals[i], udp, sender, "")
			}
		}
		b.WriteString(iperf3text.Separator)
		b.WriteString(header)
		role := "receiver"
		if sender {
			role = "sender"
		}
		for _, s := range d.Streams {
			writeTextLine(&b, fmt.Sprintf("[%3d]", s.ID), summaryInterval(s.Summary, sender), udp, sender, role)
		}
		if len(d.Streams) > 1 {
			writeTextLine(&b, "[SUM]", summaryInterval(d.Sum, sender), udp, sender, role)
		}
	}
	return b.String()
}

// summaryInterval presents this server's side of a summary as one line.
func summaryInterval(s Summary, sender bool) Interval {
	if sender {
		return Interval{End: s.SenderSeconds, Bytes: s.SenderBytes, BitsPerSecond: s.SenderBitsPerSecond,
			Retransmits: s.Retransmits, Packets: s.SenderPackets, Sender: true}
	}
	return Interval{End: s.ReceiverSeconds, Bytes: s.ReceiverBytes, BitsPerSecond: s.ReceiverBitsPerSecond,
		JitterMs: s.JitterMs, LostPackets: s.LostPackets, Packets: s.Packets}
}

func writeTextLine(b *strings.Builder, tag string, iv Interval, udp, sender bool, role string) {
	b.WriteString(iperf3text.Lead(tag, "", iv.Start, iv.End, iv.Bytes, iv.BitsPerSecond, 0))
	switch {
	case udp && !sender:
		b.WriteString(iperf3text.Loss(iv.JitterMs, iv.LostPackets, iv.Packets, iperf3text.LostPercent(iv.LostPackets, iv.Packets)))
	case udp:
		fmt.Fprintf(b, "  %d", iv.Packets)
	case sender && iv.Retransmits >= 0:
		fmt.Fprintf(b, "  %3d", iv.Retransmits)
	default:
		b.WriteString("                ")
	}
	if iv.Omitted {
		role = strings.TrimSpace(role + " (omitted)")
	}
	if role != "" {
		b.WriteString("  " + role)
	}
	b.WriteString("\n")
}

// serverOutputJSON is the server's report in iperf3's JSON shape (start,
// intervals, end), trimmed to what the server measured.
func serverOutputJSON(t *serverTest, p *iperf3wire.Params, res *Result) json.RawMessage {
	type connected struct {
		Socket     int    `json:"socket"`
		LocalHost  string `json:"local_host"`
		LocalPort  uint16 `json:"local_port"`
		RemoteHost string `json:"remote_host"`
		RemotePort uint16 `json:"remote_port"`
	}
	var conns []connected
	for i, c := range t.ordered {
		l, r := addrPortOf(c.LocalAddr()), addrPortOf(c.RemoteAddr())
		conns = append(conns, connected{streamID(i), l.Addr().String(), l.Port(), r.Addr().String(), r.Port()})
	}
	proto := "TCP"
	if p.UDP {
		proto = "UDP"
	}
	start := map[string]any{
		"connected":           conns,
		"version":             "iperfmon",
		"accepted_connection": map[string]any{"host": t.client.Addr().String(), "port": t.client.Port()},
		"cookie":              t.cookie,
		"timestamp":           map[string]any{"time": res.Start.UTC().Format(time.RFC1123), "timesecs": res.Start.Unix()},
		"test_start": map[string]any{
			"protocol": proto, "num_streams": res.Test.Parallel, "blksize": res.Test.Length,
			"omit": p.Omit, "duration": p.Time, "bytes": p.Num, "blocks": p.BlockCount,
			"reverse": boolInt(p.Reverse), "bidir": boolInt(p.Bidirectional), "tos": p.TOS,
		},
	}
	var intervals []map[string]any
	var streams []map[string]any
	end := map[string]any{
		"cpu_utilization_percent": map[string]any{
			"host_total": res.CPULocal.TotalPercent, "host_user": res.CPULocal.UserPercent, "host_system": res.CPULocal.SystemPercent,
			"remote_total": res.CPURemote.TotalPercent, "remote_user": res.CPURemote.UserPercent, "remote_system": res.CPURemote.SystemPercent,
		},
	}
	for _, d := range res.Directions {
		sender := serverSends(d.Direction)
		for i, iv := range d.Intervals {
			var ss []map[string]any
			for _, s := range d.Streams {
				if i < len(s.Intervals) {
					ss = append(ss, jsonInterval(s.ID, s.Intervals[i], p.UDP, sender))
				}
			}
			intervals = append(intervals, map[string]any{"streams": ss, "sum": jsonInterval(0, iv, p.UDP, sender)})
		}
		for _, s := range d.Streams {
			key := "receiver"
			if sender {
				key = "sender"
			}
			kind := "udp"
			if !p.UDP {
				kind = key
			}
			streams = append(streams, map[string]any{kind: jsonInterval(s.ID, summaryInterval(s.Summary, sender), p.UDP, sender)})
		}
		key := "sum_received"
		if sender {
			key = "sum_sent"
		}
		if len(res.Directions) > 1 && d.Direction == Reverse {
			key += "_bidir_reverse"
		}
		end[key] = jsonInterval(0, summaryInterval(d.Sum, sender), p.UDP, sender)
	}
	end["streams"] = streams
	out, err := json.Marshal(map[string]any{"start": start, "intervals": intervals, "end": end})
	if err != nil {
		return nil
	}
	return out
}

func jsonInterval(id int, iv Interval, udp, sender bool) map[string]any {
	m := map[string]any{
		"start": iv.Start, "end": iv.End, "seconds": iv.End - iv.Start,
		"bytes": iv.Bytes, "bits_per_second": iv.BitsPerSecond, "omitted": iv.Omitted, "sender": sender,
	}
	if id > 0 {
		m["socket"] = id
	}
	switch {
	case udp && !sender:
		m["jitter_ms"], m["lost_packets"], m["packets"] = iv.JitterMs, iv.LostPackets, iv.Packets
		if iv.Packets > 0 {
			m["lost_percent"] = iperf3text.LostPercent(iv.LostPackets, iv.Packets)
		}
	case udp:
		m["packets"] = iv.Packets
	case sender:
		m["retransmits"] = iv.Retransmits
	}
	return m
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// streamID is iperf3's id of the i-th stream: 1, 3, 4, 5, …
func streamID(i int) int {
	if i == 0 {
		return 1
	}
	return i + 2
}
