package report

import (
	"time"

	"github.com/iperfmon/iperfmon/measure"
)

// fixture builds a fixed, plausible Result: 2 one-second intervals,
// streams ids 1, 3, 4, ... as iperf3 numbers them.
func fixture(proto measure.Protocol, reverse, bidir bool, parallel int) *measure.Result {
	test := measure.Test{
		Host: "127.0.0.1", Port: 5201, Protocol: proto, Reverse: reverse, Bidir: bidir,
		Duration: 2 * time.Second, Parallel: parallel,
	}.WithDefaults()
	res := &measure.Result{
		Test:       test,
		Start:      time.Date(2026, 11, 23, 8, 51, 12, 0, time.UTC),
		LocalAddr:  "127.0.0.1:37836",
		RemoteAddr: "127.0.0.1:5201",
		Cookie:     "lehczemn5467i4xcqs7surwtnrpzmoyaiz76",
		CPULocal:   measure.CPU{TotalPercent: 93.9, UserPercent: 1.9, SystemPercent: 92.0},
		CPURemote:  measure.CPU{TotalPercent: 35.8, UserPercent: 6.9, SystemPercent: 28.9},
	}
	if proto == measure.TCP {
		res.SenderHasRetransmits = true
		res.CongestionUsed = "cubic"
	}
	dirs := []measure.Direction{measure.Forward}
	switch {
	case bidir:
		dirs = []measure.Direction{measure.Forward, measure.Reverse}
	case reverse:
		dirs = []measure.Direction{measure.Reverse}
	}
	id := 1
	for di, dir := range dirs {
		d := measure.DirectionResult{Direction: dir}
		localSender := dir == measure.Forward
		for range parallel {
			s := measure.StreamResult{ID: id, Sender: localSender, Summary: summary(proto, localSender, int64(di+1))}
			for i := range 2 {
				s.Intervals = append(s.Intervals, interval(proto, localSender, i, int64(di+1)))
			}
			d.Streams = append(d.Streams, s)
			id++
			if id == 2 {
				id = 3
			}
		}
		d.Sum = sumOf(d.Streams)
		for i := range 2 {
			iv := interval(proto, localSender, i, int64(di+1))
			iv.Bytes *= int64(parallel)
			iv.BitsPerSecond *= float64(parallel)
			iv.Retransmits *= int64(parallel)
			iv.Packets *= int64(parallel)
			iv.LostPackets *= int64(parallel)
			d.Intervals = append(d.Intervals, iv)
		}
		res.Directions = append(res.Directions, d)
	}
	return res
}

func interval(proto measure.Protocol, sender bool, i int, k int64) measure.Interval {
	iv := measure.Interval{
		Start: float64(i), End: float64(i + 1), Sender: sender,
		Bytes: 1_500_000_000 / k, BitsPerSecond: 12_000_000_000 / float64(k),
		Retransmits: -1,
	}
	if proto == measure.UDP {
		iv.Bytes, iv.BitsPerSecond, iv.Packets = 1_277_952/k, 10_223_616/float64(k), 39
		if !sender {
			iv.JitterMs, iv.LostPackets = 0.021, 1
		}
		return iv
	}
	if sender {
		iv.Retransmits, iv.SndCwnd, iv.RTT = 3*k, 785_796, 79*time.Microsecond
	}
	return iv
}

func summary(proto measure.Protocol, localSender bool, k int64) measure.Summary {
	s := measure.Summary{
		Seconds: 2.0004, SenderSeconds: 2.0002, ReceiverSeconds: 2.0004,
		SenderBytes: 3_000_000_000 / k, ReceiverBytes: 2_999_000_000 / k,
		SenderBitsPerSecond: 11_998_800_000 / float64(k), ReceiverBitsPerSecond: 11_993_601_000 / float64(k),
		Retransmits: 6 * k,
	}
	if proto == measure.UDP {
		s.SenderBytes, s.ReceiverBytes = 2_555_904/k, 2_523_136/k
		s.SenderBitsPerSecond, s.ReceiverBitsPerSecond = 10_222_596/float64(k), 10_090_540/float64(k)
		s.Retransmits = -1
		s.JitterMs, s.LostPackets, s.Packets, s.SenderPackets = 0.0102, 1, 78, 78
		s.LostPercent = 100.0 / 78
		return s
	}
	if localSender {
		s.HasTCPInfo = true
		s.RTTMean, s.RTTMin, s.RTTMax, s.SndCwnd = 83*time.Microsecond, 79*time.Microsecond, 88*time.Microsecond, 1_047_728
	}
	return s
}

func sumOf(streams []measure.StreamResult) measure.Summary {
	var sum measure.Summary
	for i, s := range streams {
		if i == 0 {
			sum = s.Summary
			continue
		}
		sum.SenderBytes += s.SenderBytes
		sum.ReceiverBytes += s.ReceiverBytes
		sum.SenderBitsPerSecond += s.SenderBitsPerSecond
		sum.ReceiverBitsPerSecond += s.ReceiverBitsPerSecond
		sum.Retransmits += s.Retransmits
		sum.LostPackets += s.LostPackets
		sum.Packets += s.Packets
		sum.SenderPackets += s.SenderPackets
	}
	if sum.Packets > 0 {
		sum.LostPercent = 100 * float64(sum.LostPackets) / float64(sum.Packets)
	}
	return sum
}
