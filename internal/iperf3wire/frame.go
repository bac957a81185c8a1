package iperf3wire

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"syscall"
)

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
		panic("iperf3wire: crypto/rand failed: " + err.Error())
	}
	for i := range b {
		b[i] = cookieAlphabet[b[i]%32]
	}
	return string(b[:])
}

// CookieBytes encodes a cookie for the wire (NUL-terminated, 37 bytes).
func CookieBytes(c string) []byte {
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
// error number when authentication fails (IEAUTHTEST) and close: an end of
// stream (or a reset) in place of the errno reads as errno 0. A partial
// errno is an error.
func ReadServerError(r io.Reader) (num, errno int32, err error) {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:4]); err != nil {
		return 0, 0, err
	}
	num = int32(binary.BigEndian.Uint32(b[:4]))
	if _, err := io.ReadFull(r, b[4:]); err == nil {
		errno = int32(binary.BigEndian.Uint32(b[4:]))
	} else if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		return 0, 0, err
	}
	return num, errno, nil
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
