package measure

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// State is an iperf3 control-connection state byte (signed on the wire).
type State int8

// iperf3 states (iperf_api.h).
const (
	TestStart       State = 1
	TestRunning     State = 2
	ResultRequest   State = 3 // unused by iperf3 3.x
	TestEnd         State = 4
	StreamBegin     State = 5 // unused
	StreamRunning   State = 6 // unused
	StreamEnd       State = 7 // unused
	AllStreamsEnd   State = 8 // unused
	ParamExchange   State = 9
	CreateStreams   State = 10
	ServerTerminate State = 11
	ClientTerminate State = 12
	ExchangeResults State = 13
	DisplayResults  State = 14
	IperfStart      State = 15
	IperfDone       State = 16
	AccessDenied    State = -1
	ServerErrorSt   State = -2
)

var stateNames = map[State]string{
	TestStart: "TEST_START", TestRunning: "TEST_RUNNING", TestEnd: "TEST_END",
	ParamExchange: "PARAM_EXCHANGE", CreateStreams: "CREATE_STREAMS",
	ServerTerminate: "SERVER_TERMINATE", ClientTerminate: "CLIENT_TERMINATE",
	ExchangeResults: "EXCHANGE_RESULTS", DisplayResults: "DISPLAY_RESULTS",
	IperfStart: "IPERF_START", IperfDone: "IPERF_DONE",
	AccessDenied: "ACCESS_DENIED", ServerErrorSt: "SERVER_ERROR",
}

func (s State) String() string {
	if n, ok := stateNames[s]; ok {
		return n
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// CookieSize is the length of the cookie on the wire, NUL included.
const CookieSize = 37

const cookieAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

// Caps on length-prefixed JSON. iperf3 3.18+ caps parameters at 8192 bytes;
// results can carry the server's output, so they get more room.
const (
	MaxParamsJSON  = 64 << 10
	MaxResultsJSON = 8 << 20
)

// NewCookie returns a fresh cookie: 36 random characters of a-z2-7.
func NewCookie() string {
	var b [CookieSize - 1]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("measure: crypto/rand failed: " + err.Error())
	}
	for i := range b {
		b[i] = cookieAlphabet[b[i]%32]
	}
	return string(b[:])
}

// cookieBytes encodes a cookie for the wire (NUL-terminated, 37 bytes).
func cookieBytes(c string) []byte {
	b := make([]byte, CookieSize)
	copy(b, c)
	return b
}

// ReadCookie reads a 37-byte cookie and checks its shape.
func ReadCookie(r io.Reader) (string, error) {
	var b [CookieSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", err
	}
	if b[CookieSize-1] != 0 {
		return "", fmt.Errorf("%w: cookie not NUL-terminated", ErrProtocol)
	}
	for _, c := range b[:CookieSize-1] {
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return "", fmt.Errorf("%w: cookie has byte 0x%02x outside a-z2-7", ErrProtocol, c)
		}
	}
	return string(b[:CookieSize-1]), nil
}

// WriteState sends one state byte.
func WriteState(w io.Writer, s State) error {
	_, err := w.Write([]byte{byte(s)})
	return err
}

// ReadState reads one state byte.
func ReadState(r io.Reader) (State, error) {
	var b [1]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, err
	}
	return State(int8(b[0])), nil
}

// ReadServerError reads the two int32 that follow SERVER_ERROR: iperf3's
// error number, then the peer's errno. iperf3 3.9 to 3.20 send only the
// error number when authentication fails (IEAUTHTEST) and close, so a
// missing errno is not an error: it reads as 0.
func ReadServerError(r io.Reader) (*ServerError, error) {
	var b [4]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return nil, err
	}
	se := &ServerError{Num: int32(binary.BigEndian.Uint32(b[:]))}
	if _, err := io.ReadFull(r, b[:]); err == nil {
		se.Errno = int32(binary.BigEndian.Uint32(b[:]))
	}
	return se, nil
}

// WriteServerError sends SERVER_ERROR with an iperf3 error number and errno.
func WriteServerError(w io.Writer, num, errno int32) error {
	var b [9]byte
	b[0] = 0xfe // SERVER_ERROR, -2
	binary.BigEndian.PutUint32(b[1:5], uint32(num))
	binary.BigEndian.PutUint32(b[5:], uint32(errno))
	_, err := w.Write(b[:])
	return err
}

// WriteJSON sends v as a length-prefixed JSON frame.
func WriteJSON(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	buf := make([]byte, 4+len(data))
	binary.BigEndian.PutUint32(buf, uint32(len(data)))
	copy(buf[4:], data)
	_, err = w.Write(buf)
	return err
}

// ReadJSON reads one length-prefixed JSON frame of at most max bytes into v.
// A larger length is refused before anything is allocated.
func ReadJSON(r io.Reader, max int, v any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || uint64(n) > uint64(max) {
		return fmt.Errorf("%w: JSON frame of %d bytes; allowed 1..%d", ErrProtocol, n, max)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: bad JSON: %v", ErrProtocol, err)
	}
	return nil
}

// Params is the parameter JSON the client sends. Booleans are
// presence-based on the wire: false values must be omitted (omitempty).
type Params struct {
	TCP             bool   `json:"tcp,omitempty"`
	UDP             bool   `json:"udp,omitempty"`
	Omit            Number `json:"omit,omitempty"`
	Time            Number `json:"time"`
	Num             Number `json:"num"`
	BlockCount      Number `json:"blockcount"`
	MSS             Number `json:"MSS,omitempty"`
	NoDelay         bool   `json:"nodelay,omitempty"`
	Parallel        Number `json:"parallel"`
	Reverse         bool   `json:"reverse,omitempty"`
	Bidirectional   bool   `json:"bidirectional,omitempty"`
	Window          Number `json:"window,omitempty"`
	Len             Number `json:"len"`
	Bandwidth       Number `json:"bandwidth,omitempty"`
	FQRate          Number `json:"fqrate,omitempty"`
	PacingTimer     Number `json:"pacing_timer,omitempty"`
	Burst           Number `json:"burst,omitempty"`
	TOS             Number `json:"TOS,omitempty"`
	FlowLabel       Number `json:"flowlabel,omitempty"`
	Title           string `json:"title,omitempty"`
	ExtraData       string `json:"extra_data,omitempty"`
	Congestion      string `json:"congestion,omitempty"`
	CongestionUsed  string `json:"congestion_used,omitempty"`
	GetServerOutput Number `json:"get_server_output,omitempty"`
	UDPCounters64   Number `json:"udp_counters_64bit,omitempty"`
	RepeatingPay    Number `json:"repeating_payload,omitempty"`
	ZeroCopy        Number `json:"zerocopy,omitempty"`
	DontFragment    Number `json:"dont_fragment,omitempty"`
	SkipRxCopy      Number `json:"skip_rx_copy,omitempty"`
	ClientVersion   string `json:"client_version,omitempty"`
	AuthToken       string `json:"authtoken,omitempty"`
	JSONOutput      Number `json:"json_output,omitempty"`
}

// Number is a JSON number decoded leniently: integers, floats, huge unsigned
// values (iperf3 3.12/3.13 print -1 as 18446744073709551615) and, for
// presence-based booleans, true/false. It never fails to decode a number.
type Number float64

// UnmarshalJSON implements json.Unmarshaler.
func (n *Number) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	switch s {
	case "true":
		*n = 1
		return nil
	case "false", "null":
		*n = 0
		return nil
	}
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		if u == math.MaxUint64 {
			*n = -1 // iperf3's unknown, printed unsigned
		} else {
			*n = Number(u)
		}
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("not a number: %.32q", s)
	}
	if math.IsNaN(f) {
		f = 0
	}
	*n = Number(f)
	return nil
}

// MarshalJSON writes integers without a fraction, as iperf3 does.
func (n Number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("0"), nil
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return strconv.AppendInt(nil, int64(f), 10), nil
	}
	return strconv.AppendFloat(nil, f, 'f', -1, 64), nil
}

// Int returns n as an int64, clamped; -1 stays -1.
func (n Number) Int() int64 {
	f := float64(n)
	switch {
	case math.IsNaN(f):
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

// Results is the results JSON both ends exchange after TEST_END.
type Results struct {
	CPUUtilTotal         Number          `json:"cpu_util_total"`
	CPUUtilUser          Number          `json:"cpu_util_user"`
	CPUUtilSystem        Number          `json:"cpu_util_system"`
	SenderHasRetransmits Number          `json:"sender_has_retransmits"`
	CongestionUsed       string          `json:"congestion_used,omitempty"`
	Streams              []StreamResults `json:"streams"`
	ServerOutputText     string          `json:"server_output_text,omitempty"`
	ServerOutputJSON     json.RawMessage `json:"server_output_json,omitempty"`
}

// StreamResults is one stream's entry in the results JSON.
type StreamResults struct {
	ID             Number `json:"id"`
	Bytes          Number `json:"bytes"`
	Retransmits    Number `json:"retransmits"`
	Jitter         Number `json:"jitter"` // seconds
	Errors         Number `json:"errors"` // lost datagrams
	OmittedErrors  Number `json:"omitted_errors"`
	Packets        Number `json:"packets"`
	OmittedPackets Number `json:"omitted_packets"`
	StartTime      Number `json:"start_time"`
	EndTime        Number `json:"end_time"`
}

// UDP handshake datagrams.
const (
	UDPConnectMsg     = 0x39383736 // client → server, "9876"
	UDPConnectReply   = 0x36373839 // server → client, "6789"
	UDPConnectLegacy  = 0xb168de3a // older servers' reply
	udpHeaderSize32   = 12
	udpHeaderSize64   = 16
	udpMinLengthLimit = 16
)

// UDPHeader is the start of every UDP data datagram.
type UDPHeader struct {
	Sec  uint32
	Usec uint32
	Seq  uint64
}

// PutUDPHeader writes h at the start of b (which must hold 12 or 16 bytes).
func PutUDPHeader(b []byte, h UDPHeader, counters64 bool) {
	binary.BigEndian.PutUint32(b[0:], h.Sec)
	binary.BigEndian.PutUint32(b[4:], h.Usec)
	if counters64 {
		binary.BigEndian.PutUint64(b[8:], h.Seq)
	} else {
		binary.BigEndian.PutUint32(b[8:], uint32(h.Seq))
	}
}

// ParseUDPHeader reads the header at the start of b.
func ParseUDPHeader(b []byte, counters64 bool) (UDPHeader, error) {
	need := udpHeaderSize32
	if counters64 {
		need = udpHeaderSize64
	}
	if len(b) < need {
		return UDPHeader{}, fmt.Errorf("%w: UDP datagram of %d bytes, header needs %d", ErrProtocol, len(b), need)
	}
	h := UDPHeader{Sec: binary.BigEndian.Uint32(b[0:]), Usec: binary.BigEndian.Uint32(b[4:])}
	if counters64 {
		h.Seq = binary.BigEndian.Uint64(b[8:])
	} else {
		h.Seq = uint64(binary.BigEndian.Uint32(b[8:]))
	}
	return h, nil
}

// Bounds on what a peer may report in its results JSON. Anything outside is
// a lie or garbage, and must not reach metrics as NaN, Inf, a negative
// count or an int64 that overflows when streams are summed.
const (
	maxPeerCount   = 1 << 53 // bytes, packets, errors: exact in float64; 128 streams stay far below 2^63
	maxPeerSeconds = 1e9     // start/end times
	maxPeerJitter  = 1e6     // seconds
	maxPeerCPU     = 1e6     // percent (iperf3's figure can exceed 100 on many cores)
)

// UnmarshalJSON decodes a peer's results and clamps every figure into its
// meaningful range (see sanitize), so that no caller has to.
func (r *Results) UnmarshalJSON(b []byte) error {
	type plain Results // no methods: avoids recursion
	if err := json.Unmarshal(b, (*plain)(r)); err != nil {
		return err
	}
	r.sanitize()
	return nil
}

// sanitize clamps peer-reported figures: NaN and negatives to 0 (or to -1,
// iperf3's "unknown", for retransmits), huge values to the bounds above,
// omitted counts to their totals, and times to whole microseconds (as iperf3
// reports them) so that a rate never divides by a denormal.
func (r *Results) sanitize() {
	r.CPUUtilTotal = clampNumber(r.CPUUtilTotal, 0, maxPeerCPU)
	r.CPUUtilUser = clampNumber(r.CPUUtilUser, 0, maxPeerCPU)
	r.CPUUtilSystem = clampNumber(r.CPUUtilSystem, 0, maxPeerCPU)
	r.SenderHasRetransmits = clampUnknown(r.SenderHasRetransmits, 1)
	for i := range r.Streams {
		s := &r.Streams[i]
		s.Bytes = clampNumber(s.Bytes, 0, maxPeerCount)
		s.Retransmits = clampUnknown(s.Retransmits, maxPeerCount)
		s.Jitter = clampNumber(s.Jitter, 0, maxPeerJitter)
		s.Errors = clampNumber(s.Errors, 0, maxPeerCount)
		s.OmittedErrors = clampNumber(s.OmittedErrors, 0, float64(s.Errors))
		s.Packets = clampNumber(s.Packets, 0, maxPeerCount)
		s.OmittedPackets = clampNumber(s.OmittedPackets, 0, float64(s.Packets))
		s.StartTime = Number(math.Round(float64(clampNumber(s.StartTime, 0, maxPeerSeconds))*1e6) / 1e6)
		s.EndTime = Number(math.Round(float64(clampNumber(s.EndTime, 0, maxPeerSeconds))*1e6) / 1e6)
	}
}

// clampNumber maps NaN to lo and clamps n into [lo, hi].
func clampNumber(n Number, lo, hi float64) Number {
	f := float64(n)
	switch {
	case math.IsNaN(f) || f < lo:
		return Number(lo)
	case f > hi:
		return Number(hi)
	}
	return n
}

// clampUnknown is clampNumber(n, 0, hi) where any negative or NaN value
// means iperf3's "unknown" (-1).
func clampUnknown(n Number, hi float64) Number {
	if f := float64(n); math.IsNaN(f) || f < 0 {
		return -1
	}
	return clampNumber(n, 0, hi)
}
