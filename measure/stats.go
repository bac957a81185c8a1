package measure

import (
	"math"
	"time"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
)

// sampleMark is a stream's counters at the start of the current interval.
type sampleMark struct {
	bytes, packets, lost int64
	retrans              int64 // TCP_INFO total_retrans; -1 unknown
}

// tcpStats accumulates a TCP sender's TCP_INFO samples.
type tcpStats struct {
	samples     int
	retransBase int64 // total_retrans at the end of omit; -1 before any sample
	retrans     int64 // last total_retrans seen
	rttSum      time.Duration
	rttCount    int
	rttMin      time.Duration
	rttMax      time.Duration
	cwndMax     int64
	cwnd        int64
	rtt         time.Duration
	rttvar      time.Duration
	pmtu        int64
	sndWnd      int64
	sndWndMax   int64
	reorder     int64
}

// runSampler takes interval samples every Interval and ends the omit period
// (iperf3 restarts its interval timer there, so intervals after omit are
// aligned to its end).
func (d *dataPhase) runSampler() {
	defer close(d.samplerDone)
	var omitC <-chan time.Time
	if d.cfg.Omit > 0 {
		t := time.NewTimer(d.cfg.Omit)
		defer t.Stop()
		omitC = t.C
	}
	var tickC <-chan time.Time
	var ticker *time.Ticker
	if d.cfg.Interval > 0 {
		ticker = time.NewTicker(d.cfg.Interval)
		defer ticker.Stop()
		tickC = ticker.C
	}
	for {
		select {
		case <-d.quit:
			return
		case <-tickC:
			d.sampleInterval(time.Now())
		case <-omitC:
			d.endOmit(time.Now())
			if ticker != nil {
				ticker.Reset(d.cfg.Interval)
			}
		}
	}
}

// endOmit resets the counters as iperf3's iperf_reset_stats does: totals
// and budgets start again from here; the partial omitted interval is dropped.
func (d *dataPhase) endOmit(now time.Time) {
	// When omit is a multiple of the interval, the omit timer and the tick
	// coincide: keep that last omitted interval rather than lose it.
	if d.cfg.Interval > 0 && now.Sub(d.intervalAt) >= d.cfg.Interval/2 {
		d.sampleInterval(now)
	}
	for _, s := range d.streams {
		if s.isUD {
			s.omitReq.Store(true) // the stream goroutine snapshots consistently
		} else {
			s.omitBytes.Store(s.bytes.Load())
		}
		if s.Sender && s.tcp != nil {
			d.sampleTCPInfo(s, true)
			s.tcpi.retransBase = s.tcpi.retrans
		}
		s.prev = sampleMark{bytes: s.bytes.Load(), packets: s.packets.Load(), lost: s.lost.Load(), retrans: s.tcpi.retrans}
	}
	d.txBytes.Store(0)
	d.txBlocks.Store(0)
	d.rxBytes.Store(0)
	d.rxBlocks.Store(0)
	d.measureStart = now
	d.intervalAt = now
	d.omitEnded = true
	d.omitting.Store(false)
	close(d.omitDoneCh)
}

// sampleTCPInfo reads TCP_INFO once (it allocates) and updates the stream's
// TCP statistics; measured says whether the sample counts for RTT figures.
func (d *dataPhase) sampleTCPInfo(s *dataStream, measured bool) {
	ti, ok := readTCPInfo(s.tcp)
	if !ok {
		return
	}
	st := &s.tcpi
	st.samples++
	st.retrans = ti.totalRetrans
	if st.retransBase < 0 {
		st.retransBase = ti.totalRetrans
	}
	st.cwnd, st.rtt = ti.cwnd, ti.rtt
	st.rttvar, st.pmtu, st.sndWnd, st.reorder = ti.rttvar, ti.pmtu, ti.sndWnd, ti.reorder
	if !measured {
		return
	}
	st.cwndMax = max(st.cwndMax, ti.cwnd)
	st.sndWndMax = max(st.sndWndMax, ti.sndWnd)
	if ti.rtt > 0 {
		st.rttSum += ti.rtt
		st.rttCount++
		if st.rttMin == 0 || ti.rtt < st.rttMin {
			st.rttMin = ti.rtt
		}
		st.rttMax = max(st.rttMax, ti.rtt)
	}
}

// sampleInterval closes the current interval of every stream at now.
func (d *dataPhase) sampleInterval(now time.Time) {
	omitted := !d.omitEnded
	base := d.measureStart
	if omitted {
		base = d.start
	}
	start := d.intervalAt.Sub(base).Seconds()
	end := now.Sub(base).Seconds()
	secs := now.Sub(d.intervalAt).Seconds()
	for _, s := range d.streams {
		cur := sampleMark{bytes: s.bytes.Load(), packets: s.packets.Load(), lost: s.lost.Load(), retrans: -1}
		iv := Interval{
			Start:       start,
			End:         end,
			Bytes:       cur.bytes - s.prev.bytes,
			Retransmits: -1,
			Omitted:     omitted,
			Sender:      s.Sender,
		}
		if secs > 0 {
			iv.BitsPerSecond = float64(iv.Bytes) * 8 / secs
		}
		if s.isUD {
			iv.Packets = cur.packets - s.prev.packets
			if !s.Sender {
				iv.LostPackets = cur.lost - s.prev.lost
				iv.JitterMs = math.Float64frombits(s.jitter.Load()) * 1000
			}
		} else if s.Sender && s.tcp != nil {
			d.sampleTCPInfo(s, !omitted)
			if s.tcpi.samples > 0 {
				cur.retrans = s.tcpi.retrans
				if s.prev.retrans >= 0 {
					iv.Retransmits = cur.retrans - s.prev.retrans
				}
				iv.SndCwnd, iv.RTT = s.tcpi.cwnd, s.tcpi.rtt
				iv.RTTVar, iv.PMTU, iv.SndWnd, iv.Reorder = s.tcpi.rttvar, s.tcpi.pmtu, s.tcpi.sndWnd, s.tcpi.reorder
			}
		}
		s.prev = cur
		s.intervals = append(s.intervals, iv)
	}
	d.intervalAt = now
	d.reportInterval()
}

// finish runs once every goroutine has ended: last partial interval, final
// TCP_INFO, omit snapshots that never happened, CPU.
func (d *dataPhase) finish() {
	now := d.stopTime
	if !d.omitEnded {
		// Stopped during omit: nothing was measured.
		for _, s := range d.streams {
			s.snapshotOmit()
		}
		d.measureStart = now
	} else {
		for _, s := range d.streams {
			if s.omitReq.Load() {
				s.snapshotOmit() // no datagram since the end of omit
			}
		}
		// As iperf3: a short last interval is dropped only when it
		// carried no data, so that the intervals add up to the total
		// even when Stop came late.
		if d.cfg.Interval > 0 && (now.Sub(d.intervalAt) >= d.cfg.Interval/10 || d.movedSinceSample()) {
			d.sampleInterval(now)
		} else {
			for _, s := range d.streams {
				if s.Sender && s.tcp != nil {
					d.sampleTCPInfo(s, true)
				}
			}
		}
	}
	d.cpu = cpuSince(d.cpu0, readCPU())
}

// movedSinceSample reports whether any stream transferred bytes since the
// last interval sample.
func (d *dataPhase) movedSinceSample() bool {
	for _, s := range d.streams {
		if s.bytes.Load() != s.prev.bytes {
			return true
		}
	}
	return false
}

// elapsed is the measured time of this end: from the end of omit to Stop.
func (d *dataPhase) elapsed() float64 {
	return max(d.stopTime.Sub(d.measureStart).Seconds(), 0)
}

// Results returns this end's results JSON: CPU use since start and one entry
// per stream (sender: bytes sent; receiver: bytes received, jitter, lost...).
// It stops the data phase first if that has not happened.
func (d *dataPhase) Results() *iperf3wire.Results {
	d.Stop()
	r := &iperf3wire.Results{
		CPUUtilTotal:   iperf3wire.Number(d.cpu.TotalPercent),
		CPUUtilUser:    iperf3wire.Number(d.cpu.UserPercent),
		CPUUtilSystem:  iperf3wire.Number(d.cpu.SystemPercent),
		CongestionUsed: d.congestion,
		Streams:        make([]iperf3wire.StreamResults, 0, len(d.streams)),
	}
	anySender := false
	for _, s := range d.streams {
		anySender = anySender || s.Sender
	}
	switch {
	case !anySender:
		r.SenderHasRetransmits = -1 // iperf3: a pure receiver does not know
	case d.hasRetrans:
		r.SenderHasRetransmits = 1
	}
	end := d.elapsed()
	for _, s := range d.streams {
		sr := iperf3wire.StreamResults{
			ID:             iperf3wire.Number(s.ID),
			Bytes:          iperf3wire.Number(s.bytes.Load() - s.omitBytes.Load()),
			Retransmits:    -1,
			Packets:        iperf3wire.Number(s.packets.Load()),
			OmittedPackets: iperf3wire.Number(s.omitPackets.Load()),
			StartTime:      0,
			EndTime:        iperf3wire.Number(end),
		}
		if !s.Sender {
			sr.Jitter = iperf3wire.Number(math.Float64frombits(s.jitter.Load()))
			sr.Errors = iperf3wire.Number(s.lost.Load())
			sr.OmittedErrors = iperf3wire.Number(s.omitLost.Load())
		}
		if s.Sender && d.hasRetrans && s.tcpi.samples > 0 {
			sr.Retransmits = iperf3wire.Number(max(s.tcpi.retrans-s.tcpi.retransBase, 0))
		}
		r.Streams = append(r.Streams, sr)
	}
	return r
}

// buildDirections combines this end's view with the peer's results JSON into
// one DirectionResult per direction (Forward first). isClient says which end
// this is, so that "forward" always means client → server. Sender figures
// come from whichever end sent on a stream, receiver figures from the other.
func buildDirections(cfg streamConfig, isClient bool, d *dataPhase, local, remote *iperf3wire.Results) []DirectionResult {
	if local == nil && d != nil {
		local = d.Results()
	}
	byID := func(r *iperf3wire.Results) map[int64]*iperf3wire.StreamResults {
		m := map[int64]*iperf3wire.StreamResults{}
		if r != nil {
			for i := range r.Streams {
				m[r.Streams[i].ID.Int()] = &r.Streams[i]
			}
		}
		return m
	}
	localByID, remoteByID := byID(local), byID(remote)
	var perDir [2][]StreamResult // Forward, Reverse
	var perDirStreams [2][]*dataStream
	if d != nil {
		for _, s := range d.streams {
			dir := 0
			if s.Sender != isClient {
				dir = 1
			}
			perDir[dir] = append(perDir[dir], streamResult(cfg, s, localByID[int64(s.ID)], remoteByID[int64(s.ID)]))
			perDirStreams[dir] = append(perDirStreams[dir], s)
		}
	}
	var out []DirectionResult
	for i, dir := range []Direction{Forward, Reverse} {
		if len(perDir[i]) == 0 {
			continue
		}
		out = append(out, DirectionResult{
			Direction: dir,
			Streams:   perDir[i],
			Sum:       sumStreams(cfg, perDir[i]),
			Intervals: sumIntervals(perDir[i]),
		})
	}
	return out
}

// streamResult merges one stream's two views.
func streamResult(cfg streamConfig, s *dataStream, local, remote *iperf3wire.StreamResults) StreamResult {
	snd, rcv := local, remote
	if !s.Sender {
		snd, rcv = remote, local
	}
	sum := Summary{Retransmits: -1}
	// Omit counts: a peer older than 3.13 does not send them (-1); then
	// the other end's count stands in, as in iperf3's own reports.
	sndOmit, rcvOmit := int64(-1), int64(-1)
	if snd != nil {
		sndOmit = snd.OmittedPackets.Int()
	}
	if rcv != nil {
		rcvOmit = rcv.OmittedPackets.Int()
	}
	if sndOmit < 0 {
		sndOmit = max(rcvOmit, 0)
	}
	if rcvOmit < 0 {
		rcvOmit = max(sndOmit, 0)
	}
	var sndPackets, rcvPackets int64
	if snd != nil {
		sum.SenderBytes = snd.Bytes.Int()
		sum.SenderSeconds = max(float64(snd.EndTime-snd.StartTime), 0)
		sum.Retransmits = snd.Retransmits.Int()
		if sum.Retransmits < -1 {
			sum.Retransmits = -1
		}
		sndPackets = snd.Packets.Int() - sndOmit
		if cfg.Protocol == UDP && snd.OmittedPackets < 0 && cfg.Length > 0 {
			// An older peer: its byte count excludes the omit period and
			// every datagram is Length bytes, so this is exact.
			sndPackets = sum.SenderBytes / int64(cfg.Length)
		}
	}
	if rcv != nil {
		sum.ReceiverBytes = rcv.Bytes.Int()
		sum.ReceiverSeconds = max(float64(rcv.EndTime-rcv.StartTime), 0)
		rcvPackets = rcv.Packets.Int() - rcvOmit
		if cfg.Protocol == UDP {
			sum.JitterMs = float64(rcv.Jitter) * 1000
			sum.LostPackets = rcv.Errors.Int()
			switch oe := rcv.OmittedErrors.Int(); {
			case oe > 0:
				sum.LostPackets -= oe
			case oe < 0 && sndOmit > 0 && cfg.Length > 0:
				// A receiver before 3.13 sends no omitted_errors: its
				// errors and highest sequence count from the start, but
				// its bytes only from the end of -O. Every datagram is
				// Length bytes, so the loss after -O is the sequence
				// numbers past the sender's omitted ones that did not
				// arrive (iperf3 3.12 itself reports all errors here).
				sum.LostPackets = min(rcv.Packets.Int()-sndOmit-rcv.Bytes.Int()/int64(cfg.Length), sum.LostPackets)
			}
			sum.LostPackets = max(sum.LostPackets, 0)
		}
	}
	if cfg.Protocol == UDP {
		sum.SenderPackets = max(sndPackets, 0)
		sum.Packets = sum.SenderPackets
		if sum.Packets == 0 {
			sum.Packets = max(rcvPackets, 0)
		}
		if !s.Sender {
			sum.OutOfOrder = s.ooo.Load() - s.omitOOO.Load()
		}
	}
	if s.Sender && s.tcpi.samples > 0 {
		sum.HasTCPInfo = true
		if s.tcpi.rttCount > 0 {
			sum.RTTMean = s.tcpi.rttSum / time.Duration(s.tcpi.rttCount)
		}
		sum.RTTMin, sum.RTTMax, sum.SndCwnd = s.tcpi.rttMin, s.tcpi.rttMax, s.tcpi.cwndMax
		sum.RTTVar, sum.PMTU, sum.SndWnd, sum.Reorder = s.tcpi.rttvar, s.tcpi.pmtu, s.tcpi.sndWndMax, s.tcpi.reorder
	}
	finishSummary(&sum)
	return StreamResult{ID: s.ID, Sender: s.Sender, Summary: sum, Intervals: s.intervals}
}

// finishSummary fills the derived figures: rates, seconds, lost percent.
func finishSummary(sum *Summary) {
	sum.Seconds = max(sum.SenderSeconds, sum.ReceiverSeconds)
	if sum.SenderSeconds > 0 {
		sum.SenderBitsPerSecond = float64(sum.SenderBytes) * 8 / sum.SenderSeconds
	}
	if sum.ReceiverSeconds > 0 {
		sum.ReceiverBitsPerSecond = float64(sum.ReceiverBytes) * 8 / sum.ReceiverSeconds
	}
	if sum.Packets > 0 {
		sum.LostPercent = 100 * float64(sum.LostPackets) / float64(sum.Packets)
	}
}

// sumStreams totals one direction. Counts are int64 and rates float64, so
// 128 streams of any realistic size cannot overflow.
func sumStreams(cfg streamConfig, streams []StreamResult) Summary {
	sum := Summary{}
	retransKnown := true
	var rttSum time.Duration
	var rttN int
	for _, st := range streams {
		s := st.Summary
		sum.SenderBytes += s.SenderBytes
		sum.ReceiverBytes += s.ReceiverBytes
		sum.SenderSeconds = max(sum.SenderSeconds, s.SenderSeconds)
		sum.ReceiverSeconds = max(sum.ReceiverSeconds, s.ReceiverSeconds)
		if s.Retransmits < 0 {
			retransKnown = false
		} else {
			sum.Retransmits += s.Retransmits
		}
		if s.HasTCPInfo {
			sum.HasTCPInfo = true
			if s.RTTMean > 0 {
				rttSum += s.RTTMean
				rttN++
			}
			if s.RTTMin > 0 && (sum.RTTMin == 0 || s.RTTMin < sum.RTTMin) {
				sum.RTTMin = s.RTTMin
			}
			sum.RTTMax = max(sum.RTTMax, s.RTTMax)
			sum.SndCwnd = max(sum.SndCwnd, s.SndCwnd)
			sum.RTTVar = max(sum.RTTVar, s.RTTVar)
			if s.PMTU > 0 && (sum.PMTU == 0 || s.PMTU < sum.PMTU) {
				sum.PMTU = s.PMTU // the path's: the smallest of the streams'
			}
			sum.SndWnd = max(sum.SndWnd, s.SndWnd)
			sum.Reorder += s.Reorder
		}
		sum.JitterMs += s.JitterMs
		sum.LostPackets += s.LostPackets
		sum.Packets += s.Packets
		sum.SenderPackets += s.SenderPackets
		sum.OutOfOrder += s.OutOfOrder
	}
	if !retransKnown || len(streams) == 0 {
		sum.Retransmits = -1
	}
	if rttN > 0 {
		sum.RTTMean = rttSum / time.Duration(rttN)
	}
	if len(streams) > 0 {
		sum.JitterMs /= float64(len(streams)) // iperf3 averages jitter over streams
	}
	if cfg.Protocol != UDP {
		sum.JitterMs, sum.LostPackets, sum.Packets, sum.SenderPackets = 0, 0, 0, 0
	}
	finishSummary(&sum)
	return sum
}

// sumIntervals adds the streams' intervals index by index (all streams of
// one end are sampled together, so indexes line up).
func sumIntervals(streams []StreamResult) []Interval {
	n := 0
	for i, st := range streams {
		if i == 0 || len(st.Intervals) < n {
			n = len(st.Intervals)
		}
	}
	out := make([]Interval, n)
	for k := range out {
		iv := &out[k]
		retransKnown := true
		var rttSum time.Duration
		var rttN int
		for i, st := range streams {
			s := st.Intervals[k]
			if i == 0 {
				iv.Start, iv.End, iv.Omitted, iv.Sender = s.Start, s.End, s.Omitted, s.Sender
			}
			iv.Bytes += s.Bytes
			iv.BitsPerSecond += s.BitsPerSecond
			if s.Retransmits < 0 {
				retransKnown = false
			} else {
				iv.Retransmits += s.Retransmits
			}
			iv.SndCwnd += s.SndCwnd
			iv.SndWnd += s.SndWnd
			iv.Reorder += s.Reorder
			iv.RTTVar = max(iv.RTTVar, s.RTTVar)
			if s.PMTU > 0 && (iv.PMTU == 0 || s.PMTU < iv.PMTU) {
				iv.PMTU = s.PMTU
			}
			if s.RTT > 0 {
				rttSum += s.RTT
				rttN++
			}
			iv.JitterMs += s.JitterMs
			iv.LostPackets += s.LostPackets
			iv.Packets += s.Packets
		}
		if !retransKnown {
			iv.Retransmits = -1
		}
		if rttN > 0 {
			iv.RTT = rttSum / time.Duration(rttN)
		}
		iv.JitterMs /= float64(len(streams))
	}
	return out
}
