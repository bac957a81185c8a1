package iperf3wire

// Fuzz targets for every parser of input that comes from a peer: control
// framing (cookie, state, SERVER_ERROR, length-prefixed JSON), the
// parameter and results JSON with the lenient Number type, and the UDP
// datagram header. Seed corpora under testdata/fuzz/<Target>/ hold frames
// captured from stock iperf3 3.12 on loopback plus hand-made edge cases.
// The properties checked: no panic, errors instead of partial garbage,
// bounded reads and allocations, and stable round trips through our own
// encoders.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"reflect"
	"runtime"
	"testing"
)

// countingReader counts what the parser pulled from the wire.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// frame prefixes payload with its 32-bit big-endian length.
func frame(payload []byte) []byte {
	b := make([]byte, 4+len(payload))
	binary.BigEndian.PutUint32(b, uint32(len(payload)))
	copy(b[4:], payload)
	return b
}

// allocSlack is allocation noise we tolerate around a rejected frame: a
// refused length must cost a few small objects, never the claimed size.
const allocSlack = 1 << 20

// FuzzReadJSON feeds arbitrary bytes to ReadJSON with an arbitrary cap and
// checks that it never reads past one frame, refuses lengths above the cap
// before allocating them, and fails with ErrProtocol on bad frames.
func FuzzReadJSON(f *testing.F) {
	f.Add(frame([]byte(`{"tcp":true,"time":1}`)), uint8(0), uint32(MaxParamsJSON))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, '{', '}'}, uint8(1), uint32(MaxParamsJSON))
	f.Add([]byte{0, 0, 0, 0}, uint8(2), uint32(MaxResultsJSON))
	f.Fuzz(func(t *testing.T, data []byte, kind uint8, max uint32) {
		// Keep the cap realistic (1 B .. 8 MiB) so a frame that fits is
		// cheap; lengths above it are what the cap must stop.
		capBytes := int(max%MaxResultsJSON) + 1
		var n uint32
		if len(data) >= 4 {
			n = binary.BigEndian.Uint32(data)
		}
		var v any
		switch kind % 3 {
		case 0:
			v = new(Params)
		case 1:
			v = new(Results)
		default:
			v = new(any)
		}
		cr := &countingReader{r: bytes.NewReader(data)}
		var before, after runtime.MemStats
		huge := len(data) >= 4 && uint64(n) > uint64(capBytes)+allocSlack
		if huge {
			runtime.ReadMemStats(&before)
		}
		err := ReadJSON(cr, capBytes, v)
		if huge {
			runtime.ReadMemStats(&after)
			if got := after.TotalAlloc - before.TotalAlloc; got >= allocSlack {
				t.Fatalf("frame claiming %d bytes (cap %d) allocated %d bytes", n, capBytes, got)
			}
		}
		if cr.n > 4+capBytes {
			t.Fatalf("read %d bytes with cap %d", cr.n, capBytes)
		}
		switch {
		case len(data) < 4:
			if err == nil {
				t.Fatalf("no error on a %d-byte header", len(data))
			}
		case n == 0 || uint64(n) > uint64(capBytes):
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("length %d with cap %d: got %v, want ErrProtocol", n, capBytes, err)
			}
			if cr.n != 4 {
				t.Fatalf("refused frame but read %d bytes past its header", cr.n-4)
			}
		case uint64(len(data)) < 4+uint64(n):
			if err == nil {
				t.Fatalf("truncated frame (%d of %d bytes) accepted", len(data)-4, n)
			}
		default:
			if cr.n != 4+int(n) {
				t.Fatalf("frame of %d bytes but read %d", n, cr.n-4)
			}
			if err != nil && !errors.Is(err, ErrProtocol) {
				t.Fatalf("complete frame: error %v is not ErrProtocol", err)
			}
		}
	})
}

// decodeFrame runs payload through the real framing path.
func decodeFrame(payload []byte, max int, v any) error {
	return ReadJSON(bytes.NewReader(frame(payload)), max, v)
}

// reencode writes v with WriteJSON and reads it back into out.
func reencode(t *testing.T, v, out any, max int) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, v); err != nil {
		t.Fatalf("WriteJSON of a decoded value: %v", err)
	}
	if err := ReadJSON(&buf, max, out); err != nil {
		t.Fatalf("our own encoding does not decode: %v\n%s", err, buf.Bytes())
	}
}

// checkFinite fails on NaN anywhere in v's Number fields: the decoder must
// turn NaN-like input into 0. (±Inf is allowed: 1e400 saturates.)
func checkNumbers(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			checkNumbers(t, v.Elem(), path)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			checkNumbers(t, v.Field(i), path+"."+v.Type().Field(i).Name)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		for i := 0; i < v.Len(); i++ {
			checkNumbers(t, v.Index(i), path)
		}
	case reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) {
			t.Fatalf("%s is NaN", path)
		}
		n := Number(f)
		_ = n.Int() // must not panic on any value
		if b, err := n.MarshalJSON(); err != nil || !json.Valid(b) {
			t.Fatalf("%s=%v marshals to %q, %v", path, f, b, err)
		}
	}
}

// FuzzParamsJSON decodes arbitrary parameter JSON the way a server does and
// checks that whatever decodes re-encodes to JSON that decodes to the same
// thing (after one normalising pass: ±Inf is written as 0).
func FuzzParamsJSON(f *testing.F) {
	f.Add([]byte(`{"tcp":true,"omit":0,"time":10,"num":0,"blockcount":0,"parallel":1,"len":131072,"pacing_timer":1000,"client_version":"3.12"}`))
	f.Add([]byte(`{"udp":true,"time":18446744073709551615,"parallel":-1,"len":1e308,"bandwidth":"x"}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		var p1 Params
		if err := decodeFrame(payload, MaxParamsJSON, &p1); err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("decode error %v is not ErrProtocol", err)
			}
			return
		}
		checkNumbers(t, reflect.ValueOf(&p1), "Params")
		var p2, p3 Params
		reencode(t, &p1, &p2, MaxResultsJSON)
		reencode(t, &p2, &p3, MaxResultsJSON)
		if !reflect.DeepEqual(p2, p3) {
			t.Fatalf("round trip not stable:\n%+v\n%+v", p2, p3)
		}
	})
}

// FuzzResultsJSON is FuzzParamsJSON for the results JSON both ends swap.
func FuzzResultsJSON(f *testing.F) {
	f.Add([]byte(`{"cpu_util_total":1.5,"cpu_util_user":1,"cpu_util_system":0.5,"sender_has_retransmits":18446744073709551615,"streams":[{"id":1,"bytes":1000,"retransmits":-1,"jitter":0,"errors":0,"packets":0,"start_time":0,"end_time":1.0}]}`))
	f.Add([]byte(`{"streams":[{"id":1e308,"bytes":-5,"jitter":"NaN"}],"server_output_json":{"a":[1,2]}}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		var r1 Results
		if err := decodeFrame(payload, MaxResultsJSON, &r1); err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("decode error %v is not ErrProtocol", err)
			}
			return
		}
		checkNumbers(t, reflect.ValueOf(&r1), "Results")
		if len(r1.ServerOutputJSON) > 0 && !json.Valid(r1.ServerOutputJSON) {
			t.Fatalf("server_output_json kept invalid JSON %q", r1.ServerOutputJSON)
		}
		var r2, r3 Results
		reencode(t, &r1, &r2, MaxResultsJSON)
		reencode(t, &r2, &r3, MaxResultsJSON)
		if !reflect.DeepEqual(r2, r3) {
			t.Fatalf("round trip not stable:\n%+v\n%+v", r2, r3)
		}
	})
}

// FuzzNumber drives Number.UnmarshalJSON directly and through a JSON
// document: every valid JSON number must decode (lenient), the result is
// never NaN, and what we marshal parses back to the same value.
func FuzzNumber(f *testing.F) {
	for _, s := range []string{"0", "-1", "18446744073709551615", "18446744073709551616",
		"1e308", "-1e308", "1e309", "4.9e-324", "1e-400", "true", "false", "null",
		`"5"`, "-0", "9007199254740993", "0.1", "[]", "{}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var n Number
		err := n.UnmarshalJSON(b)
		var probe json.Number
		isNumber := json.Unmarshal(b, &probe) == nil && len(bytes.TrimSpace(b)) > 0 && bytes.TrimSpace(b)[0] != '"'
		if isNumber && err != nil {
			t.Fatalf("valid JSON number %q refused: %v", b, err)
		}
		if err != nil {
			return
		}
		f := float64(n)
		if math.IsNaN(f) {
			t.Fatalf("%q decoded to NaN", b)
		}
		_ = n.Int()
		out, err := n.MarshalJSON()
		if err != nil || !json.Valid(out) {
			t.Fatalf("%v marshals to %q, %v", f, out, err)
		}
		var back Number
		if err := back.UnmarshalJSON(out); err != nil {
			t.Fatalf("our output %q does not decode: %v", out, err)
		}
		want := f
		if math.IsInf(f, 0) {
			want = 0 // written as 0 on purpose
		}
		if float64(back) != want {
			t.Fatalf("%q: decoded %v, marshalled %q, decoded back %v", b, f, out, float64(back))
		}
	})
}

// FuzzControlMessages reads the fixed-size control messages (cookie, state
// byte, SERVER_ERROR body) from arbitrary bytes and checks each against our
// own encoder.
func FuzzControlMessages(f *testing.F) {
	f.Add(append([]byte("abcdefghijklmnopqrstuvwxyz2345672345"), 0))
	f.Add([]byte{0xfe, 0, 0, 0, 121, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		// Cookie.
		cr := &countingReader{r: bytes.NewReader(data)}
		c, err := ReadCookie(cr)
		if cr.n > CookieSize {
			t.Fatalf("cookie read consumed %d bytes", cr.n)
		}
		if err == nil {
			if len(c) != CookieSize-1 || !bytes.Equal(CookieBytes(c), data[:CookieSize]) {
				t.Fatalf("cookie %q does not re-encode to %q", c, data[:CookieSize])
			}
		} else if len(data) >= CookieSize && !errors.Is(err, ErrProtocol) {
			t.Fatalf("bad cookie %q: error %v is not ErrProtocol", data[:CookieSize], err)
		}

		// State byte, then SERVER_ERROR's body if that is what it was.
		r := bytes.NewReader(data)
		s, err := ReadState(r)
		if err != nil {
			if len(data) > 0 {
				t.Fatalf("state from %d bytes: %v", len(data), err)
			}
			return
		}
		_ = s.String()
		var buf bytes.Buffer
		if err := WriteState(&buf, s); err != nil || !bytes.Equal(buf.Bytes(), data[:1]) {
			t.Fatalf("state %v re-encodes to %x, want %x", s, buf.Bytes(), data[:1])
		}
		num, errno, err := ReadServerError(r)
		if len(data) < 5 {
			if err == nil {
				t.Fatalf("SERVER_ERROR body from %d bytes accepted", len(data)-1)
			}
			return
		}
		switch {
		case len(data) == 5:
			// iperf3 3.9-3.20 send no errno after IEAUTHTEST.
			if err != nil || errno != 0 || num != int32(binary.BigEndian.Uint32(data[1:5])) {
				t.Fatalf("SERVER_ERROR without errno decoded as %d/%d, %v", num, errno, err)
			}
			return
		case len(data) < 9:
			if err == nil {
				t.Fatalf("SERVER_ERROR with a %d-byte errno accepted", len(data)-5)
			}
			return
		case err != nil:
			t.Fatalf("SERVER_ERROR body: %v", err)
		}
		_ = ErrorText(num)
		buf.Reset()
		if err := WriteServerError(&buf, num, errno); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes()[1:], data[1:9]) {
			t.Fatalf("SERVER_ERROR %d/%d re-encodes to %x, want %x", num, errno, buf.Bytes()[1:], data[1:9])
		}
	})
}

// FuzzUDPHeader parses arbitrary datagrams in both counter widths and
// checks the round trip through PutUDPHeader.
func FuzzUDPHeader(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3}, false)
	f.Add([]byte{0x65, 0, 0, 0, 0, 0x0f, 0x42, 0x3f, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, true)
	f.Fuzz(func(t *testing.T, data []byte, c64 bool) {
		need := 12
		if c64 {
			need = 16
		}
		h, err := ParseUDPHeader(data, c64)
		if len(data) < need {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("%d-byte datagram: got %v, want ErrProtocol", len(data), err)
			}
			return
		}
		if err != nil {
			t.Fatalf("%d-byte datagram: %v", len(data), err)
		}
		if !c64 && h.Seq > math.MaxUint32 {
			t.Fatalf("32-bit counter decoded to %d", h.Seq)
		}
		b := make([]byte, need)
		PutUDPHeader(b, h, c64)
		if !bytes.Equal(b, data[:need]) {
			t.Fatalf("header %+v re-encodes to %x, want %x", h, b, data[:need])
		}
		h2, err := ParseUDPHeader(b, c64)
		if err != nil || h2 != h {
			t.Fatalf("round trip %+v -> %+v, %v", h, h2, err)
		}
	})
}
