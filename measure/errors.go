package measure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
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
	ErrProtocol      = iperf3wire.ErrProtocol
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
	msg := iperf3wire.ErrorText(e.Num)
	if e.Errno != 0 {
		msg += ": " + syscall.Errno(e.Errno).Error()
	}
	return "server error: " + msg
}

// readServerError reads SERVER_ERROR's body (see iperf3wire.ReadServerError).
func readServerError(r io.Reader) (*ServerError, error) {
	num, errno, err := iperf3wire.ReadServerError(r)
	if err != nil {
		return nil, err
	}
	return &ServerError{Num: num, Errno: errno}, nil
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
		if se.Num == iperf3wire.IEAUTHTEST {
			return CodeAuthFailed
		}
		if se.Num == iperf3wire.IEACCESSDENIED {
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
