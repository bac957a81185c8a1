package iperf3wire

import (
	"encoding/binary"
	"fmt"
)

// UDP handshake datagrams.
const (
	UDPConnectMsg    = 0x39383736 // client → server, "9876"
	UDPConnectReply  = 0x36373839 // server → client, "6789"
	UDPConnectLegacy = 0xb168de3a // older servers' reply
	UDPHeaderSize32  = 12
	UDPHeaderSize64  = 16
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
	need := UDPHeaderSize32
	if counters64 {
		need = UDPHeaderSize64
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
