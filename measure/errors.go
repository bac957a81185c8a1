package measure

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
)

// ResultCode classifies the outcome of a test. The numbers are part of the
// metric schema (field result_code) and never change.
type ResultCode int

// Result codes, as in the metric schema (the result tag and result_code).
const (
	CodeSuccess          ResultCode = 0
	CodeConnectionFailed ResultCode = 1
	CodeTimeout          ResultCode = 2
	CodeServerBusy       ResultCode = 3
	CodeAccessDenied     ResultCode = 4
	CodeAuthFailed       ResultCode = 5
	CodeServerError      ResultCode = 6
	CodeProtocolError    ResultCode = 7
)

var codeNames = [...]string{
	CodeSuccess:          "success",
	CodeConnectionFailed: "connection_failed",
	CodeTimeout:          "timeout",
	CodeServerBusy:       "server_busy",
	CodeAccessDenied:     "access_denied",
	CodeAuthFailed:       "auth_failed",
	CodeServerError:      "server_error",
	CodeProtocolError:    "protocol_error",
}

// String returns the value of the result tag for c.
func (c ResultCode) String() string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("result_code(%d)", int(c))
}

// Sentinel errors; match them with errors.Is.
var (
	ErrServerBusy    = errors.New("the server is busy running a test")
	ErrAccessDenied  = errors.New("access denied by the server")
	ErrAuthFailed    = errors.New("authentication failed")
	ErrProtocol      = errors.New("protocol error")
	ErrTimeout       = errors.New("timeout")
	ErrConnect       = errors.New("connection failed")
	ErrServerClosed  = errors.New("measure: server closed")
	ErrServerEnded   = errors.New("the server has terminated")
	ErrClientAborted = errors.New("the client has terminated")
)

// ServerError is iperf3's SERVER_ERROR message: an iperf3 error number and
// the peer's errno.
type ServerError struct {
	Num   int32 // iperf3 i_errno
	Errno int32 // the peer's errno, 0 when none
}

func (e *ServerError) Error() string {
	msg := ErrorText(int(e.Num))
	if e.Errno != 0 {
		msg += ": " + syscall.Errno(e.Errno).Error()
	}
	return "server error: " + msg
}

// Error wraps a test failure with the step that failed and its code.
type Error struct {
	Code ResultCode
	Op   string // the step that failed, e.g. "control: read state"
	Err  error
}

func (e *Error) Error() string {
	if e.Op == "" {
		return e.Err.Error()
	}
	return e.Op + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// newError builds an *Error, classifying err unless code is given (>= 0).
func newError(code ResultCode, op string, err error) *Error {
	if code < 0 {
		code = Classify(err)
	}
	return &Error{Code: code, Op: op, Err: err}
}

// Classify maps any error returned by this package (or a network error) to
// its result code. nil is CodeSuccess.
func Classify(err error) ResultCode {
	if err == nil {
		return CodeSuccess
	}
	var me *Error
	if errors.As(err, &me) && me.Code != CodeSuccess {
		return me.Code
	}
	var se *ServerError
	switch {
	case errors.Is(err, ErrServerBusy):
		return CodeServerBusy
	case errors.Is(err, ErrAuthFailed):
		return CodeAuthFailed
	case errors.Is(err, ErrAccessDenied):
		return CodeAccessDenied
	case errors.As(err, &se):
		if se.Num == IEAUTHTEST {
			return CodeAuthFailed
		}
		if se.Num == IEACCESSDENIED {
			return CodeServerBusy
		}
		return CodeServerError
	case errors.Is(err, ErrProtocol):
		return CodeProtocolError
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return CodeTimeout
	case errors.Is(err, ErrConnect):
		return CodeConnectionFailed
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return CodeTimeout
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return CodeConnectionFailed
	}
	return CodeProtocolError
}

// iperf3 error numbers (i_errno) this package sends or interprets.
const (
	IEDURATION      = 5
	IENUMSTREAMS    = 6
	IEBLOCKSIZE     = 7
	IEBUFSIZE       = 8
	IEOMIT          = 12
	IEUNIMP         = 13
	IEUDPBLOCKSIZE  = 20
	IETOTALRATE     = 27
	IERECVCOOKIE    = 106
	IECTRLREAD      = 108
	IECTRLCLOSE     = 109
	IEMESSAGE       = 110
	IERECVPARAMS    = 114
	IERECVRESULTS   = 117
	IECLIENTTERM    = 119
	IESERVERTERM    = 120
	IEACCESSDENIED  = 121
	IESETCONGESTION = 134
	IEAUTHTEST      = 142
	IENOMSG         = 144
	IESTREAMCONNECT = 203
	IESTREAMACCEPT  = 204
	IESTREAMREAD    = 206
	IESTREAMID      = 208
)

// iperf3's texts for its error numbers (iperf_error.c), for the numbers a
// server is likely to send over the wire.
var errorTexts = map[int]string{
	1:   "cannot be both server and client",
	5:   "test duration too long",
	6:   "number of parallel streams too large",
	7:   "block size too large",
	8:   "socket buffer size too large",
	9:   "invalid report interval",
	10:  "TCP MSS too large",
	12:  "bogus value for --omit",
	13:  "an option you are trying to set is not implemented yet",
	16:  "only one test end condition (-t, -n, -k) may be specified",
	20:  "block size invalid",
	21:  "bad TOS value",
	25:  "cannot be both reverse and bidirectional",
	27:  "total required bandwidth is larger than server limit",
	100: "unable to create a new test",
	101: "test initialization failed",
	102: "unable to start listener for connections",
	103: "unable to connect to server",
	104: "unable to accept connection from client",
	105: "unable to send cookie to server",
	106: "unable to receive cookie at server",
	107: "unable to write to the control socket",
	108: "unable to read from the control socket",
	109: "control socket has closed unexpectedly",
	110: "received an unknown control message",
	111: "unable to send control message",
	112: "unable to receive control message",
	113: "unable to send parameters to server",
	114: "unable to receive parameters from client",
	115: "unable to package results",
	116: "unable to send results",
	117: "unable to receive results",
	118: "select failed",
	119: "the client has terminated",
	120: "the server has terminated",
	121: "the server is busy running a test. try again later",
	122: "unable to set TCP/SCTP NODELAY",
	123: "unable to set TCP/SCTP MSS",
	124: "unable to set socket buffer size",
	125: "unable to set IP TOS",
	130: "unable to set socket window size",
	131: "protocol does not exist",
	134: "unable to set TCP_CONGESTION: supplied congestion control algorithm not supported on this host",
	140: "unable to set socket pacing",
	141: "socket buffer size not set correctly",
	142: "test authorization failed",
	144: "idle timeout for receiving data",
	200: "unable to create a new stream",
	201: "unable to initialize stream",
	202: "unable to start stream listener",
	203: "unable to connect stream",
	204: "unable to accept stream connection",
	205: "unable to write to stream socket",
	206: "unable to read from stream socket",
	207: "stream socket has closed unexpectedly",
	208: "stream has an invalid id",
	300: "unable to create new timer",
	301: "unable to update timer",
}

// ErrorText returns iperf3's message for an error number.
func ErrorText(num int) string {
	if s, ok := errorTexts[num]; ok {
		return s
	}
	return fmt.Sprintf("iperf3 error %d", num)
}
