package iperf3wire

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
)

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
	MPTCP           bool   `json:"mptcp,omitempty"`
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
