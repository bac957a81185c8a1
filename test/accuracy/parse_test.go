//go:build linux

package accuracy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// These tests check the harness's own reading of -J output on documents
// recorded from stock iperf3 3.12 on the shaped link; they need no root.

func readResult(t *testing.T, name string) (*result, []byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	r, err := parseResult(b)
	require.NoError(t, err)
	return r, b
}

func TestParseUDPForwardWithServerOutput(t *testing.T) {
	r, _ := readResult(t, "iperf3-3.12-udp-fwd-O1-every20th.json")
	// The client summary carries 3.12's forward -O bug, the server's own
	// report the truth (each 20th datagram dropped).
	require.InDelta(t, 6.668, r.lostPercent, 0.001)
	require.InDelta(t, 4.999, r.srvLostPercent, 0.001)
	require.InDelta(t, 0, r.outOfOrder, 0)
	require.Greater(t, r.recvBPS, 90e6)
	require.False(t, isNaN(r.cpuHost) || isNaN(r.cpuRemote))
	require.Len(t, r.intervals, 4)
	require.True(t, r.intervals[0].sum.omitted)

	c := &checker{}
	checkCommon(c, "iperf3", r, spec{udp: true, dir: forward, time: 3, omit: 1})
	require.Empty(t, c.msgs)
}

func TestParseTCPBidir(t *testing.T) {
	r, _ := readResult(t, "iperf3-3.12-tcp-bidir-O1.json")
	require.Greater(t, r.recvBPS, 80e6)
	require.Greater(t, r.revRecvBPS, 15e6)
	c := &checker{}
	checkCommon(c, "iperf3", r, spec{dir: bidir, time: 3, omit: 1})
	require.Empty(t, c.msgs)
}

// TestIntervalChecksCatchOmitErrors tampers with a real document the way a
// broken tool would get -O wrong, and expects the checks to say so.
func TestIntervalChecksCatchOmitErrors(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(string) string
		expect string
	}{
		{"omitted interval not flagged", func(s string) string {
			return strings.Replace(s, `"omitted":	true`, `"omitted":	false`, -1)
		}, "add up to"},
		{"omitted bytes counted in the total", func(s string) string {
			return strings.Replace(s, `"bytes":	37499000`, `"bytes":	49364000`, -1)
		}, "add up to"},
		{"out of order reported", func(s string) string {
			return strings.Replace(s, `"out_of_order":	0`, `"out_of_order":	5000`, 1)
		}, "out_of_order"},
		{"no CPU figures", func(s string) string {
			return strings.Replace(s, `"cpu_utilization_percent"`, `"cpu"`, 1)
		}, "cpu_utilization_percent"},
	}
	_, b := readResult(t, "iperf3-3.12-udp-fwd-O1-every20th.json")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edited := tt.edit(string(b))
			require.NotEqual(t, string(b), edited, "the edit must change the document")
			r, err := parseResult([]byte(edited))
			require.NoError(t, err)
			c := &checker{}
			checkCommon(c, "tool", r, spec{udp: true, dir: forward, time: 3, omit: 1})
			require.NotEmpty(t, c.msgs)
			require.Contains(t, strings.Join(c.msgs, "\n"), tt.expect)
		})
	}
}

func TestParseErrors(t *testing.T) {
	_, err := parseResult([]byte(`{"start":{},"end":{},"error":"unable to connect to server"}`))
	var te *toolError
	require.ErrorAs(t, err, &te)
	require.Contains(t, err.Error(), "unable to connect")
	_, err = parseResult([]byte("iperf3: error"))
	require.ErrorAs(t, err, &te)
}

func TestJitterConsistent(t *testing.T) {
	require.True(t, jitterConsistent(0.01, 0.2))
	require.True(t, jitterConsistent(0.5, 1.9))
	require.False(t, jitterConsistent(0.1, 0.5))
	require.False(t, jitterConsistent(0.05, 50)) // µs reported as ms
	require.False(t, jitterConsistent(nan(), 0.1))
	require.False(t, jitterConsistent(-1, 0.1))

	require.True(t, jitterConsistentShaped(0.094, 0.458))
	require.True(t, jitterConsistentShaped(0.1, 0.9))
	require.False(t, jitterConsistentShaped(0.1, 1.5))
	require.False(t, jitterConsistentShaped(0.5, 500)) // µs reported as ms
	require.False(t, jitterConsistentShaped(nan(), 0.1))
}

func TestMaxOutOfOrder(t *testing.T) {
	require.EqualValues(t, 3, maxOutOfOrder(nan()))
	require.EqualValues(t, 3, maxOutOfOrder(60))
	require.EqualValues(t, 360, maxOutOfOrder(9000))
	require.EqualValues(t, 1072, maxOutOfOrder(26800))
}

func TestSnmpValue(t *testing.T) {
	snmp := "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\nUdp: 10 0 3 1 3 0\nUdpLite: InDatagrams\nUdpLite: 0\n"
	require.EqualValues(t, 3, snmpValue(snmp, "Udp", "RcvbufErrors"))
	require.EqualValues(t, 0, snmpValue(snmp, "Udp", "SndbufErrors"))
	snmp6 := "Udp6InDatagrams                 \t5\nUdp6RcvbufErrors                \t7\n"
	require.EqualValues(t, 7, snmpValue(snmp6, "Udp6RcvbufErrors", ""))
}

func TestReportTableAndDoc(t *testing.T) {
	rep := &reportT{rows: []*row{
		{name: "rate a", shaped: "20.00 → 19.13", ours: "19.10", ref: "19.12", errPct: "-0.16", status: "pass", attempts: 1},
		{name: "rate b", shaped: "x", ours: "n/a", ref: "1", errPct: "n/a", status: "FAIL", attempts: 3},
		{name: "rate c", status: "skip"},
	}}
	text, passed, failed, skipped := rep.table()
	require.Equal(t, [3]int{1, 1, 1}, [3]int{passed, failed, skipped})
	require.Contains(t, text, "| case | shaped | iperfmon | iperf3 | error % |")
	require.Contains(t, text, "| **FAIL** rate b (attempt 3) |")

	var out strings.Builder
	rep.print(&out, 0)
	require.Regexp(t, `(?m)^1 passed, 1 failed$`, out.String())

	doc := filepath.Join(t.TempDir(), "accuracy.md")
	require.NoError(t, os.WriteFile(doc, []byte("# x\n\n"+docBegin+"\nold\n"+docEnd+"\ntail\n"), 0o644))
	require.NoError(t, rep.writeDoc(doc))
	b, err := os.ReadFile(doc)
	require.NoError(t, err)
	require.NotContains(t, string(b), "old")
	require.Contains(t, string(b), "| rate a |")
	require.True(t, strings.HasSuffix(string(b), docEnd+"\ntail\n"))
}

// TestParseUDPBidirReverseTime pins stock iperf3's bidir slip that the
// suite works around: the printed reverse rate divides the client's own
// received bytes by the forward stream's (server-side) receive time.
// Recorded on tbf 100M/20M, -t 3 -O 1; the truth is 97.09/19.42 Mbit/s.
func TestParseUDPBidirReverseTime(t *testing.T) {
	r, _ := readResult(t, "iperf3-3.12-udp-bidir-100M-20M-O1.json")
	fwdSecs := num(r.raw, "end", "sum_received", "seconds")
	require.InDelta(t, fwdSecs, num(r.raw, "end", "sum_received_bidir_reverse", "seconds"), 1e-9, "reverse seconds are the forward stream's")
	require.InDelta(t, 18.99e6, r.revRecvBPS, 0.01e6)
	require.InDelta(t, 19.44e6, r.revOwnBPS(), 0.01e6)
	require.InDelta(t, 97.15e6, r.recvBPS, 0.01e6)
	c := &checker{}
	checkCommon(c, "iperf3", r, spec{udp: true, dir: bidir, time: 3, omit: 1})
	require.Empty(t, c.msgs)
}
