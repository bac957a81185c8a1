package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/measure"
	"github.com/stretchr/testify/require"
)

func result(t measure.Test, bps ...float64) *measure.Result {
	res := &measure.Result{Test: t}
	dirs := []measure.Direction{measure.Forward, measure.Reverse}
	if t.Reverse {
		dirs = dirs[1:]
	}
	for i, b := range bps {
		res.Directions = append(res.Directions, measure.DirectionResult{Direction: dirs[i], Sum: measure.Summary{
			ReceiverBitsPerSecond: b, Retransmits: 12, JitterMs: 0.5, LostPackets: 3, Packets: 100, LostPercent: 3,
		}})
	}
	return res
}

// withLatency adds a probe result: idle 0.5 ms, loaded 48 ms (5 and 100
// replies); received 0 empties a phase.
func withLatency(res *measure.Result, idleReceived, loadedReceived int) *measure.Result {
	res.Latency = &measure.Latency{Method: measure.ProbeICMPRaw, Target: "192.0.2.1",
		Idle: measure.RTTStats{Sent: 5, Received: idleReceived}, Loaded: measure.RTTStats{Sent: 100, Received: loadedReceived}}
	if idleReceived > 0 {
		res.Latency.Idle.Median = 500 * time.Microsecond
	}
	if loadedReceived > 0 {
		res.Latency.Loaded.Median = 48 * time.Millisecond
	}
	return res
}

func TestCheckEvaluate(t *testing.T) {
	tcp := measure.Test{Host: "h", Duration: time.Second}.WithDefaults()
	udp := measure.Test{Host: "h", Protocol: measure.UDP}.WithDefaults()
	bidir := measure.Test{Host: "h", Bidir: true}.WithDefaults()
	refused := &measure.Error{Code: measure.CodeConnectionFailed, Op: "control: dial", Err: errors.New("connection refused")}
	tests := []struct {
		name string
		ck   checkFlags
		test measure.Test
		res  *measure.Result
		err  error
		code int
		line string
	}{
		{"ok", checkFlags{minBitrate: 500e6, maxRetransmits: -1}, tcp, result(tcp, 941e6), nil, nagiosOK,
			"IPERF3 OK - h:5201 tcp forward 941 Mbits/sec | bits_per_second=941000000;;500000000:;0; retransmits=12;;;0;"},
		{"critical", checkFlags{minBitrate: 500e6, warnBitrate: 800e6, maxRetransmits: -1}, tcp, result(tcp, 100e6), nil, nagiosCritical,
			"IPERF3 CRITICAL - h:5201 tcp forward 100 Mbits/sec: forward 100 Mbits/sec below minimum 500 Mbits/sec | bits_per_second=100000000;800000000:;500000000:;0; retransmits=12;;;0;"},
		{"warning", checkFlags{minBitrate: 500e6, warnBitrate: 800e6, maxRetransmits: -1}, tcp, result(tcp, 600e6), nil, nagiosWarning,
			"IPERF3 WARNING - h:5201 tcp forward 600 Mbits/sec: forward 600 Mbits/sec below warning level 800 Mbits/sec | bits_per_second=600000000;800000000:;500000000:;0; retransmits=12;;;0;"},
		{"retransmits warn", checkFlags{minBitrate: 1e6, maxRetransmits: 10}, tcp, result(tcp, 941e6), nil, nagiosWarning,
			"IPERF3 WARNING - h:5201 tcp forward 941 Mbits/sec: forward 12 retransmits above 10 | bits_per_second=941000000;;1000000:;0; retransmits=12;10;;0;"},
		{"udp loss and jitter", checkFlags{minBitrate: 1e6, maxLoss: 1, lossGiven: true, maxJitter: 100 * time.Microsecond, maxRetransmits: -1}, udp, result(udp, 9e6), nil, nagiosCritical,
			"IPERF3 CRITICAL - h:5201 udp forward 9.00 Mbits/sec: forward loss 3% above 1%; forward jitter 0.500 ms above 0.1 ms | bits_per_second=9000000;;1000000:;0; jitter_ms=0.500;;0.1;0; loss_percent=3.000%;;1;0;100 lost_packets=3;;;0;"},
		{"bidir worst wins", checkFlags{minBitrate: 500e6, warnBitrate: 800e6, maxRetransmits: -1}, bidir, result(bidir, 700e6, 100e6), nil, nagiosCritical,
			"IPERF3 CRITICAL - h:5201 tcp forward 700 Mbits/sec, reverse 100 Mbits/sec: forward 700 Mbits/sec below warning level 800 Mbits/sec; reverse 100 Mbits/sec below minimum 500 Mbits/sec | forward_bits_per_second=700000000;800000000:;500000000:;0; forward_retransmits=12;;;0; reverse_bits_per_second=100000000;800000000:;500000000:;0; reverse_retransmits=12;;;0;"},
		{"latency ok", checkFlags{maxLoadedRTT: 50 * time.Millisecond, maxRTTIncrease: 50 * time.Millisecond, maxRetransmits: -1}, tcp, withLatency(result(tcp, 941e6), 5, 100), nil, nagiosOK,
			"IPERF3 OK - h:5201 tcp forward 941 Mbits/sec, loaded RTT 48.0 ms | bits_per_second=941000000;;;0; retransmits=12;;;0; idle_rtt_ms=0.500;;;0; loaded_rtt_ms=48.000;;50;0; rtt_increase_ms=47.500;;50;;"},
		{"latency critical", checkFlags{maxLoadedRTT: 40 * time.Millisecond, maxRTTIncrease: 30 * time.Millisecond, maxRetransmits: -1}, tcp, withLatency(result(tcp, 941e6), 5, 100), nil, nagiosCritical,
			"IPERF3 CRITICAL - h:5201 tcp forward 941 Mbits/sec, loaded RTT 48.0 ms: loaded RTT 48.0 ms above 40 ms; RTT increase under load 47.5 ms above 30 ms | bits_per_second=941000000;;;0; retransmits=12;;;0; idle_rtt_ms=0.500;;;0; loaded_rtt_ms=48.000;;40;0; rtt_increase_ms=47.500;;30;;"},
		{"latency perfdata without thresholds", checkFlags{minBitrate: 1e6, maxRetransmits: -1}, tcp, withLatency(result(tcp, 941e6), 5, 100), nil, nagiosOK,
			"IPERF3 OK - h:5201 tcp forward 941 Mbits/sec, loaded RTT 48.0 ms | bits_per_second=941000000;;1000000:;0; retransmits=12;;;0; idle_rtt_ms=0.500;;;0; loaded_rtt_ms=48.000;;;0; rtt_increase_ms=47.500;;;;"},
		{"no loaded replies is unknown", checkFlags{maxLoadedRTT: 50 * time.Millisecond, maxRetransmits: -1}, tcp, withLatency(result(tcp, 941e6), 5, 0), nil, nagiosUnknown,
			"IPERF3 UNKNOWN - h:5201 tcp forward 941 Mbits/sec: no reply to the 100 latency probes sent under load | bits_per_second=941000000;;;0; retransmits=12;;;0; idle_rtt_ms=0.500;;;0;"},
		{"no idle replies: increase unknown", checkFlags{maxRTTIncrease: 30 * time.Millisecond, maxRetransmits: -1}, tcp, withLatency(result(tcp, 941e6), 0, 100), nil, nagiosUnknown,
			"IPERF3 UNKNOWN - h:5201 tcp forward 941 Mbits/sec, loaded RTT 48.0 ms: no reply to the idle latency probes: RTT increase unknown | bits_per_second=941000000;;;0; retransmits=12;;;0; loaded_rtt_ms=48.000;;;0;"},
		{"no probe possible is unknown", checkFlags{maxLoadedRTT: 50 * time.Millisecond, maxRetransmits: -1}, tcp,
			func() *measure.Result {
				r := result(tcp, 941e6)
				r.Latency = &measure.Latency{Unavailable: "no ICMP socket"}
				return r
			}(), nil, nagiosUnknown,
			"IPERF3 UNKNOWN - h:5201 tcp forward 941 Mbits/sec: no latency probe: no ICMP socket | bits_per_second=941000000;;;0; retransmits=12;;;0;"},
		{"refused is critical", checkFlags{minBitrate: 1e6}, tcp, nil, refused, nagiosCritical,
			"IPERF3 CRITICAL - h:5201 tcp: control: dial: connection refused (result=connection_failed) | result_code=1;;;0;7"},
		{"busy is unknown", checkFlags{minBitrate: 1e6}, tcp, nil, fmt.Errorf("control: %w", measure.ErrServerBusy), nagiosUnknown,
			"IPERF3 UNKNOWN - h:5201 tcp: control: the server is busy running a test (result=server_busy) | result_code=3;;;0;7"},
		{"timeout is critical", checkFlags{minBitrate: 1e6}, tcp, nil, fmt.Errorf("read: %w", measure.ErrTimeout), nagiosCritical,
			"IPERF3 CRITICAL - h:5201 tcp: read: timeout (result=timeout) | result_code=2;;;0;7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.ck.evaluate(tc.test, tc.res, tc.err)
			require.Equal(t, tc.code, st.code)
			require.Equal(t, tc.line, st.line(tc.test))
		})
	}
}

func TestBaseline(t *testing.T) {
	tcp := measure.Test{Host: "h", Duration: time.Second}.WithDefaults()
	path := filepath.Join(t.TempDir(), "b.json")
	var logs bytes.Buffer
	log := newLogger(&logs, false)
	ck := checkFlags{minBitrate: 1e6, maxRetransmits: -1, baselineFile: path, maxDrop: 20, baselineKeep: 5}
	run := func(bps float64) status {
		st := ck.evaluate(tcp, result(tcp, bps), nil)
		ck.applyBaseline(&st, tcp, result(tcp, bps), time.Now(), log)
		return st
	}
	// A missing file is a new baseline, silently; 3 results build it.
	for _, bps := range []float64{1e9, 1.1e9, 0.9e9} {
		require.Equal(t, nagiosOK, run(bps).code)
	}
	require.Empty(t, logs.String())
	st := run(0.95e9)
	require.Equal(t, nagiosOK, st.code)
	require.Contains(t, st.line(tcp), "baseline_bits_per_second=1000000000;800000000:;;0;")
	st = run(0.5e9)
	require.Equal(t, nagiosWarning, st.code)
	require.Contains(t, st.line(tcp), "forward 500 Mbits/sec is 49% below the baseline 975 Mbits/sec (median of the last 4 runs)")

	d, err := readBaseline(path)
	require.NoError(t, err)
	require.Len(t, d.Series["h:5201/tcp/forward"], 5)
	run(1e9) // keep 5: the oldest goes
	d, err = readBaseline(path)
	require.NoError(t, err)
	require.Len(t, d.Series["h:5201/tcp/forward"], 5)
	require.Equal(t, 1.1e9, d.Series["h:5201/tcp/forward"][0].BitsPerSecond)

	// A corrupt file: warned about, replaced, never fatal.
	require.NoError(t, os.WriteFile(path, []byte("{not json"), 0o644))
	require.Equal(t, nagiosOK, run(1e9).code)
	require.Contains(t, logs.String(), "W! baseline file "+path+" is unusable")
	d, err = readBaseline(path)
	require.NoError(t, err)
	require.Len(t, d.Series["h:5201/tcp/forward"], 1)
}

// Concurrent checks on one file lose no result.
func TestBaselineConcurrent(t *testing.T) {
	tcp := measure.Test{Host: "h", Duration: time.Second}.WithDefaults()
	path := filepath.Join(t.TempDir(), "b.json")
	var logs bytes.Buffer
	log := newLogger(&logs, false)
	const n = 16
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ck := checkFlags{minBitrate: 1e6, maxRetransmits: -1, baselineFile: path, maxDrop: 20, baselineKeep: 100}
			st := ck.evaluate(tcp, result(tcp, float64(i+1)*1e6), nil)
			ck.applyBaseline(&st, tcp, result(tcp, float64(i+1)*1e6), time.Now(), log)
		})
	}
	wg.Wait()
	require.Empty(t, logs.String())
	d, err := readBaseline(path)
	require.NoError(t, err)
	require.Len(t, d.Series["h:5201/tcp/forward"], n)
}
