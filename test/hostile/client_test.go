package hostile

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
	"github.com/iperfmon/iperfmon/internal/leakcheck"
	"github.com/iperfmon/iperfmon/measure"
)

// Every hostile case runs one measure.Client.Run against a fake server
// with these limits: the whole test may take testTimeout, connecting
// connectTimeout. A case that times out must end by testTimeout + slack; a
// case that fails fast must end by fastLimit.
const (
	testTimeout    = 3 * time.Second
	connectTimeout = 600 * time.Millisecond
	slack          = 1500 * time.Millisecond
	fastLimit      = 2500 * time.Millisecond // the UDP handshake alone may take 3 × 500ms
	maxHeapGrowth  = 64 << 20                // peak heap growth while one case runs
)

type hostileCase struct {
	name   string
	tweak  func(t *measure.Test)
	script func(s *session)
	// codes are the acceptable outcomes, the right one first. success in
	// the list means the client may also complete, with sane figures.
	codes []measure.ResultCode
	// slow marks cases that end at the whole-test deadline.
	slow bool
}

const success = measure.CodeSuccess

func baseTest(port int) measure.Test {
	return measure.Test{
		Host:           "127.0.0.1",
		Port:           port,
		Bytes:          256 << 10, // ends as soon as it is sent: no fixed duration
		Interval:       -1,
		ConnectTimeout: connectTimeout,
		Timeout:        testTimeout,
	}
}

func udp(t *measure.Test) {
	t.Protocol = measure.UDP
	t.Length = 1000
	t.Bitrate = 10_000_000
	t.Bytes = 50_000
}

func reverse(t *measure.Test) { t.Reverse = true }

// hostileCases lists every misbehaviour; see TestHostileServer.
func hostileCases() []hostileCase {
	cases := []hostileCase{
		{name: "baseline/tcp", script: func(s *session) { s.all() }, codes: []measure.ResultCode{success}},
		{name: "baseline/tcp-reverse", tweak: reverse, script: func(s *session) { s.all() }, codes: []measure.ResultCode{success}},
		{name: "baseline/udp", tweak: udp, script: func(s *session) { s.all() }, codes: []measure.ResultCode{success}},

		// Connection phase.
		{name: "connect/close-after-cookie", script: func(s *session) { s.upTo(phParamExchange) },
			codes: []measure.ResultCode{measure.CodeProtocolError}},
		{name: "connect/busy", script: func(s *session) { s.state(iperf3wire.AccessDenied) },
			codes: []measure.ResultCode{measure.CodeServerBusy}},
		{name: "connect/busy-with-reset", script: func(s *session) {
			s.state(iperf3wire.AccessDenied)
			if tc, ok := s.ctrl.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // RST, as a busy iperf3 that never read the cookie
			}
			// The RST can overtake the dial itself ("connect: connection
			// reset by peer"): the client cannot tell that from a failed
			// connect.
		}, codes: []measure.ResultCode{measure.CodeServerBusy, measure.CodeConnectionFailed}},
		{name: "connect/silent", script: func(s *session) { s.hold() },
			codes: []measure.ResultCode{measure.CodeTimeout}, slow: true},
		{name: "connect/slow-but-legal", script: func(s *session) {
			for p := phCookie; p < phDone; p++ {
				time.Sleep(150 * time.Millisecond)
				s.upTo(p + 1)
			}
		}, codes: []measure.ResultCode{success}},

		// Slow drip: a byte a second, never a whole message before the deadline.
		{name: "drip/results-frame", script: func(s *session) {
			s.upTo(phExchangeResults)
			s.state(iperf3wire.ExchangeResults)
			s.readClientResults()
			b := make([]byte, 4, 64)
			binary.BigEndian.PutUint32(b, 40)
			s.drip(append(b, `{"streams":[{"id":1,"bytes":1,"end_time":1}]}`...), time.Second)
		}, codes: []measure.ResultCode{measure.CodeTimeout}, slow: true},
		{name: "drip/server-error", script: func(s *session) {
			s.upTo(phCreateStreams)
			s.drip([]byte{0xfe, 0, 0, 0, 5, 0, 0, 0, 0}, time.Second)
		}, codes: []measure.ResultCode{measure.CodeTimeout}, slow: true},

		// Huge and broken lengths in the server's results frame.
		{name: "length/2GiB", script: results(func(s *session) { s.frame(1<<31, []byte("{}")); s.hold() }),
			codes: []measure.ResultCode{measure.CodeProtocolError}},
		{name: "length/0x7fffffff", script: results(func(s *session) { s.frame(0x7fffffff, []byte("{}")); s.hold() }),
			codes: []measure.ResultCode{measure.CodeProtocolError}},
		{name: "length/4GiB", script: results(func(s *session) { s.frame(math.MaxUint32, []byte("{}")); s.hold() }),
			codes: []measure.ResultCode{measure.CodeProtocolError}},
		{name: "length/cap+1", script: results(func(s *session) { s.frame(iperf3wire.MaxResultsJSON+1, []byte("{}")); s.hold() }),
			codes: []measure.ResultCode{measure.CodeProtocolError}},
		{name: "length/zero", script: results(func(s *session) { s.frame(0, nil); s.hold() }),
			codes: []measure.ResultCode{measure.CodeProtocolError}},
		{name: "length/cap-never-sent", script: results(func(s *session) { s.frame(iperf3wire.MaxResultsJSON, []byte("{")); s.hold() }),
			codes: []measure.ResultCode{measure.CodeTimeout}, slow: true},
		{name: "length/cap-of-garbage", script: results(func(s *session) {
			s.frame(iperf3wire.MaxResultsJSON, []byte(strings.Repeat("x", iperf3wire.MaxResultsJSON)))
			s.hold()
		}), codes: []measure.ResultCode{measure.CodeProtocolError}},
		{name: "length/truncated-then-close", script: results(func(s *session) { s.frame(100, []byte(`{"streams":[`)) }),
			codes: []measure.ResultCode{measure.CodeProtocolError}},

		// Results that parse but lie.
		{name: "results/absurd-values", script: resultsJSON(`{"cpu_util_total":-1e308,"cpu_util_user":1e308,"cpu_util_system":18446744073709551615,"sender_has_retransmits":-7,` +
			`"streams":[{"id":1,"bytes":-1,"retransmits":1e308,"jitter":-0.5,"errors":18446744073709551615,"omitted_errors":1e400,"packets":-1e400,"omitted_packets":0.5,"start_time":5,"end_time":-5}]}`),
			codes: []measure.ResultCode{success, measure.CodeProtocolError}},
		{name: "results/huge-values", script: resultsJSON(`{"cpu_util_total":1e308,"streams":[{"id":1,"bytes":1e308,"retransmits":18446744073709551615,"end_time":4.9e-324}]}`),
			codes: []measure.ResultCode{success, measure.CodeProtocolError}},
		{name: "results/nan-like-strings", script: resultsJSON(`{"cpu_util_total":"NaN","streams":[{"id":1,"bytes":"Infinity","jitter":"-nan"}]}`),
			codes: []measure.ResultCode{measure.CodeProtocolError}},
		{name: "results/uint64-max", script: resultsJSON(`{"cpu_util_total":18446744073709551615,"sender_has_retransmits":18446744073709551615,` +
			`"streams":[{"id":1,"bytes":18446744073709551615,"retransmits":18446744073709551615,"end_time":18446744073709551615}]}`),
			codes: []measure.ResultCode{success, measure.CodeProtocolError}},
		{name: "results/udp-absurd", tweak: udp, script: resultsJSON(`{"streams":[{"id":1,"bytes":1e308,"jitter":1e308,"errors":1e308,"omitted_errors":-1,"packets":-5,"end_time":1}]}`),
			codes: []measure.ResultCode{success, measure.CodeProtocolError}},
		{name: "results/no-streams", script: resultsJSON(`{"cpu_util_total":1}`),
			codes: []measure.ResultCode{measure.CodeProtocolError, success}},
		{name: "results/wrong-stream-ids", script: resultsJSON(`{"streams":[{"id":99,"bytes":5,"end_time":1},{"id":-1,"bytes":5,"end_time":1}]}`),
			codes: []measure.ResultCode{success, measure.CodeProtocolError}},
		{name: "results/garbage-json", script: resultsJSON(`{"streams":[{"id":1,,,}`),
			codes: []measure.ResultCode{measure.CodeProtocolError}},
		{name: "results/not-an-object", script: resultsJSON(`[1,2,3]`),
			codes: []measure.ResultCode{measure.CodeProtocolError}},
		// 1 MiB, not the 8 MiB cap: decoding is CPU-bound and not cut by
		// the deadline, and the race detector makes 8 MiB take seconds.
		{name: "results/huge-server-output", script: resultsJSON(`{"streams":[],"server_output_text":"` + strings.Repeat("x", 1<<20) + `"}`),
			codes: []measure.ResultCode{success, measure.CodeProtocolError}},

		// Silence and early closes after the client did its part.
		{name: "silence/never-sends-results", script: results(func(s *session) { s.hold() }),
			codes: []measure.ResultCode{measure.CodeTimeout}, slow: true},
		{name: "silence/never-sends-display-results", script: func(s *session) { s.upTo(phDisplayResults); s.hold() },
			codes: []measure.ResultCode{measure.CodeTimeout}, slow: true},
		{name: "silence/never-starts-test", script: func(s *session) { s.upTo(phTestStart); s.hold() },
			codes: []measure.ResultCode{measure.CodeTimeout}, slow: true},
		{name: "silence/never-accepts-streams", script: func(s *session) {
			s.upTo(phCreateStreams)
			s.state(iperf3wire.CreateStreams)
			s.hold() // the kernel completes the connects; nobody answers
		}, codes: []measure.ResultCode{measure.CodeTimeout}, slow: true},
		{name: "close/control-during-test", script: func(s *session) { s.upTo(phTestEnd) },
			codes: []measure.ResultCode{measure.CodeProtocolError}},
		{name: "close/streams-during-test", tweak: func(t *measure.Test) { t.Bytes = 64 << 20 }, script: func(s *session) {
			s.upTo(phTestEnd)
			for _, c := range s.tcp {
				if tc, ok := c.(*net.TCPConn); ok {
					_ = tc.SetLinger(0)
				}
				c.Close()
			}
			s.hold()
		}, codes: []measure.ResultCode{measure.CodeProtocolError, measure.CodeServerError, measure.CodeTimeout}},
		{name: "close/streams-during-reverse-test", tweak: func(t *measure.Test) { t.Reverse = true; t.Bytes = 64 << 20 }, script: func(s *session) {
			s.upTo(phTestEnd)
			for _, c := range s.tcp {
				c.Close()
			}
			s.hold()
		}, codes: []measure.ResultCode{measure.CodeProtocolError, measure.CodeTimeout}},
		{name: "close/after-results", script: func(s *session) { s.upTo(phDisplayResults) },
			codes: []measure.ResultCode{measure.CodeProtocolError}},

		// The server's terminal messages.
		{name: "terminate/server-terminate-during-test", script: func(s *session) { s.upTo(phTestEnd); s.state(iperf3wire.ServerTerminate); s.hold() },
			codes: []measure.ResultCode{measure.CodeServerError}},
		{name: "terminate/access-denied-after-params", script: func(s *session) { s.upTo(phCreateStreams); s.state(iperf3wire.AccessDenied); s.hold() },
			codes: []measure.ResultCode{measure.CodeAccessDenied}},
		{name: "terminate/server-error-busy", script: func(s *session) {
			s.upTo(phParamExchange)
			s.send([]byte{0xfe, 0, 0, 0, iperf3wire.IEACCESSDENIED, 0, 0, 0, 0})
			s.hold()
		},
			codes: []measure.ResultCode{measure.CodeServerBusy}},
		{name: "terminate/server-error-duration", script: func(s *session) {
			s.upTo(phCreateStreams)
			s.send([]byte{0xfe, 0, 0, 0, iperf3wire.IEDURATION, 0, 0, 0, 0})
			s.hold()
		},
			codes: []measure.ResultCode{measure.CodeServerError}},
		{name: "terminate/auth-failed-iperf3.12-style", script: func(s *session) {
			s.upTo(phCreateStreams)
			s.send([]byte{0xfe, 0, 0, 0, iperf3wire.IEAUTHTEST}) // no errno, then close
		}, codes: []measure.ResultCode{measure.CodeAuthFailed}},
		{name: "terminate/server-error-truncated", script: func(s *session) { s.upTo(phCreateStreams); s.send([]byte{0xfe, 0, 0}) },
			codes: []measure.ResultCode{measure.CodeProtocolError}},

		// UDP handshake garbage.
		{name: "udp/wrong-reply", tweak: udp, script: udpHandshake(func(s *session, from *net.UDPAddr) {
			s.udpReply(from, []byte("abcd"))
		}), codes: []measure.ResultCode{measure.CodeProtocolError, measure.CodeTimeout}},
		{name: "udp/no-reply", tweak: udp, script: udpHandshake(func(s *session, from *net.UDPAddr) {}),
			codes: []measure.ResultCode{measure.CodeProtocolError, measure.CodeTimeout}},
		{name: "udp/flood-of-big-datagrams", tweak: udp, script: udpHandshake(func(s *session, from *net.UDPAddr) {
			big := make([]byte, 60000)
			for range 200 {
				s.udpReply(from, big)
			}
		}), codes: []measure.ResultCode{measure.CodeProtocolError, measure.CodeTimeout}},
		{name: "udp/reply-then-garbage-data", tweak: func(t *measure.Test) { udp(t); t.Reverse = true }, script: func(s *session) {
			s.upTo(phTestStart)
			for range 100 { // datagrams too short for a header, and sequence 0
				for _, p := range s.udpPeer {
					s.udpReply(p, []byte{1, 2, 3})
					s.udpReply(p, make([]byte, 1000))
				}
			}
			s.upTo(phDone)
		}, codes: []measure.ResultCode{success}},
	}

	// A wrong state in place of every state the server sends, and one in
	// the middle of the test.
	phases := []struct {
		name string
		at   phase
	}{
		{"instead-of-param-exchange", phParamExchange},
		{"instead-of-create-streams", phCreateStreams},
		{"instead-of-test-start", phTestStart},
		{"during-test", phTestEnd},
		{"instead-of-exchange-results", phExchangeResults},
		{"instead-of-display-results", phDisplayResults},
	}
	wrong := []struct {
		name string
		st   iperf3wire.State
	}{
		{"zero", 0},
		{"unused-3", iperf3wire.ResultRequest},
		{"unknown-42", 42},
		{"min-int8", -128},
		{"client-only-TEST_END", iperf3wire.TestEnd},
		{"client-only-IPERF_DONE", iperf3wire.IperfDone},
		{"CLIENT_TERMINATE", iperf3wire.ClientTerminate},
	}
	for _, p := range phases {
		for _, w := range wrong {
			cases = append(cases, hostileCase{
				name:   "state/" + p.name + "/" + w.name,
				script: func(s *session) { s.upTo(p.at); s.state(w.st); s.hold() },
				codes:  []measure.ResultCode{measure.CodeProtocolError},
			})
		}
	}
	return cases
}

// results runs the normal sequence up to the server's results and then
// hands over to bad, which sends them (or not).
func results(bad func(s *session)) func(s *session) {
	return func(s *session) {
		s.upTo(phExchangeResults)
		s.state(iperf3wire.ExchangeResults)
		s.readClientResults()
		bad(s)
	}
}

// resultsJSON sends payload as the server's results, then finishes.
func resultsJSON(payload string) func(s *session) {
	return results(func(s *session) {
		s.frame(uint32(len(payload)), []byte(payload))
		s.done = phDisplayResults
		s.all()
	})
}

// udpHandshake answers each UDP stream's "9876" with reply instead of
// "6789", then waits.
func udpHandshake(reply func(s *session, from *net.UDPAddr)) func(s *session) {
	return func(s *session) {
		s.upTo(phCreateStreams)
		s.state(iperf3wire.CreateStreams)
		buf := make([]byte, 64)
		for {
			s.check("udp deadline", s.f.udp.SetReadDeadline(time.Now().Add(10*time.Second)))
			_, from, err := s.f.udp.ReadFromUDP(buf)
			s.check("udp read", err)
			reply(s, from)
		}
	}
}

// TestHostileServer runs measure.Client against every misbehaving server
// and checks the outcome, the time it took, the heap, and goroutines.
func TestHostileServer(t *testing.T) {
	var client measure.Client
	type row struct {
		name    string
		outcome string
		elapsed time.Duration
		heap    uint64
	}
	var table []row
	base := leakcheck.Take()
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			baseline := runtime.NumGoroutine()
			f := startFake(t, tc.script)
			test := baseTest(f.port)
			if tc.tweak != nil {
				tc.tweak(&test)
			}
			mem := watchMemory()
			start := time.Now()
			res, err := client.Run(context.Background(), test)
			elapsed := time.Since(start)
			peak := mem.Stop()
			f.Close()
			waitGoroutines(t, baseline, 3*time.Second)

			code := measure.Classify(err)
			outcome := code.String()
			if err != nil {
				outcome += ": " + err.Error()
			}
			table = append(table, row{tc.name, outcome, elapsed, peak})
			t.Logf("%s in %s, heap peak +%d KiB", outcome, elapsed.Round(time.Millisecond), peak>>10)

			require.Contains(t, tc.codes, code, "outcome %s", outcome)
			if err != nil {
				var me *measure.Error
				require.True(t, errors.As(err, &me), "error %T is not a *measure.Error", err)
				require.NotEmpty(t, me.Op, "the error names no step")
				require.Nil(t, res)
			} else {
				requireSane(t, res)
			}
			limit := fastLimit
			if tc.slow || code == measure.CodeTimeout {
				limit = testTimeout + slack
			}
			require.Less(t, elapsed, limit, "took %s", elapsed)
			if tc.slow {
				require.Greater(t, elapsed, testTimeout-slack, "a timeout case ended early")
			}
			require.Less(t, peak, uint64(maxHeapGrowth), "heap grew by %d MiB", peak>>20)
		})
	}
	// Back to the start: goroutines and fds exactly, the live heap within 16 MiB.
	after := leakcheck.Settle(t, base, 0, 16<<20, 5*time.Second)
	var b strings.Builder
	fmt.Fprintf(&b, "%-60s %9s %9s  %s\n", "case", "elapsed", "heap+KiB", "outcome")
	for _, r := range table {
		fmt.Fprintf(&b, "%-60s %9s %9d  %s\n", r.name, r.elapsed.Round(time.Millisecond), r.heap>>10, r.outcome)
	}
	fmt.Fprintf(&b, "before: %s\nafter:  %s", base, after)
	t.Log("\n" + b.String())
}

// requireSane checks that a successful result carries only figures a
// metric can hold: finite, and no negative counts (retransmits -1 means
// unknown).
func requireSane(t *testing.T, res *measure.Result) {
	t.Helper()
	require.NotNil(t, res)
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		switch v.Kind() {
		case reflect.Struct:
			if v.Type() == reflect.TypeOf(time.Time{}) || v.Type() == reflect.TypeOf(measure.Test{}) {
				return
			}
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i), path+"."+v.Type().Field(i).Name)
				}
			}
		case reflect.Slice:
			if v.Type().Elem().Kind() == reflect.Uint8 {
				return
			}
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
			}
		case reflect.Float64:
			f := v.Float()
			require.False(t, math.IsNaN(f) || math.IsInf(f, 0), "%s = %v", path, f)
			require.GreaterOrEqual(t, f, 0.0, "%s = %v", path, f)
		case reflect.Int64:
			min := int64(0)
			if strings.HasSuffix(path, "Retransmits") {
				min = -1
			}
			if v.Type() != reflect.TypeOf(time.Duration(0)) {
				require.GreaterOrEqual(t, v.Int(), min, "%s = %d", path, v.Int())
			}
		}
	}
	walk(reflect.ValueOf(*res), "Result")
}
