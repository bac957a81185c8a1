package iperf3wire

import (
	"errors"
	"strconv"
)

// ErrProtocol marks a peer that broke the wire format. measure exports the
// same value, so errors.Is works on either name.
var ErrProtocol = errors.New("protocol error")

// iperf3's error numbers (i_errno, iperf_api.h) that a peer is likely to
// send in SERVER_ERROR, and those this module sends.
const (
	IESERVCLIENT     = 1
	IEDURATION       = 5
	IENUMSTREAMS     = 6
	IEBLOCKSIZE      = 7
	IEBUFSIZE        = 8
	IEINTERVAL       = 9
	IEMSS            = 10
	IEOMIT           = 12
	IEUNIMP          = 13
	IEENDCONDITIONS  = 16
	IEUDPBLOCKSIZE   = 20
	IEBADTOS         = 21
	IEREVERSEBIDIR   = 25
	IETOTALRATE      = 27
	IENEWTEST        = 100
	IEINITTEST       = 101
	IELISTEN         = 102
	IECONNECT        = 103
	IEACCEPT         = 104
	IESENDCOOKIE     = 105
	IERECVCOOKIE     = 106
	IECTRLWRITE      = 107
	IECTRLREAD       = 108
	IECTRLCLOSE      = 109
	IEMESSAGE        = 110
	IESENDMESSAGE    = 111
	IERECVMESSAGE    = 112
	IESENDPARAMS     = 113
	IERECVPARAMS     = 114
	IEPACKAGERESULTS = 115
	IESENDRESULTS    = 116
	IERECVRESULTS    = 117
	IESELECT         = 118
	IECLIENTTERM     = 119
	IESERVERTERM     = 120
	IEACCESSDENIED   = 121
	IESETNODELAY     = 122
	IESETMSS         = 123
	IESETBUF         = 124
	IESETTOS         = 125
	IESETWINDOWSIZE  = 130
	IEPROTOCOL       = 131
	IESETCONGESTION  = 134
	IESETPACING      = 140
	IESETBUF2        = 141
	IEAUTHTEST       = 142
	IENOMSG          = 144
	IECREATESTREAM   = 200
	IEINITSTREAM     = 201
	IESTREAMLISTEN   = 202
	IESTREAMCONNECT  = 203
	IESTREAMACCEPT   = 204
	IESTREAMWRITE    = 205
	IESTREAMREAD     = 206
	IESTREAMCLOSE    = 207
	IESTREAMID       = 208
	IENEWTIMER       = 300
	IEUPDATETIMER    = 301
)

// iperf3's texts for those numbers (iperf_error.c).
var errorTexts = map[int32]string{
	IESERVCLIENT:     "cannot be both server and client",
	IEDURATION:       "test duration too long",
	IENUMSTREAMS:     "number of parallel streams too large",
	IEBLOCKSIZE:      "block size too large",
	IEBUFSIZE:        "socket buffer size too large",
	IEINTERVAL:       "invalid report interval",
	IEMSS:            "TCP MSS too large",
	IEOMIT:           "bogus value for --omit",
	IEUNIMP:          "an option you are trying to set is not implemented yet",
	IEENDCONDITIONS:  "only one test end condition (-t, -n, -k) may be specified",
	IEUDPBLOCKSIZE:   "block size invalid",
	IEBADTOS:         "bad TOS value",
	IEREVERSEBIDIR:   "cannot be both reverse and bidirectional",
	IETOTALRATE:      "total required bandwidth is larger than server limit",
	IENEWTEST:        "unable to create a new test",
	IEINITTEST:       "test initialization failed",
	IELISTEN:         "unable to start listener for connections",
	IECONNECT:        "unable to connect to server",
	IEACCEPT:         "unable to accept connection from client",
	IESENDCOOKIE:     "unable to send cookie to server",
	IERECVCOOKIE:     "unable to receive cookie at server",
	IECTRLWRITE:      "unable to write to the control socket",
	IECTRLREAD:       "unable to read from the control socket",
	IECTRLCLOSE:      "control socket has closed unexpectedly",
	IEMESSAGE:        "received an unknown control message",
	IESENDMESSAGE:    "unable to send control message",
	IERECVMESSAGE:    "unable to receive control message",
	IESENDPARAMS:     "unable to send parameters to server",
	IERECVPARAMS:     "unable to receive parameters from client",
	IEPACKAGERESULTS: "unable to package results",
	IESENDRESULTS:    "unable to send results",
	IERECVRESULTS:    "unable to receive results",
	IESELECT:         "select failed",
	IECLIENTTERM:     "the client has terminated",
	IESERVERTERM:     "the server has terminated",
	IEACCESSDENIED:   "the server is busy running a test. try again later",
	IESETNODELAY:     "unable to set TCP/SCTP NODELAY",
	IESETMSS:         "unable to set TCP/SCTP MSS",
	IESETBUF:         "unable to set socket buffer size",
	IESETTOS:         "unable to set IP TOS",
	IESETWINDOWSIZE:  "unable to set socket window size",
	IEPROTOCOL:       "protocol does not exist",
	IESETCONGESTION:  "unable to set TCP_CONGESTION: supplied congestion control algorithm not supported on this host",
	IESETPACING:      "unable to set socket pacing",
	IESETBUF2:        "socket buffer size not set correctly",
	IEAUTHTEST:       "test authorization failed",
	IENOMSG:          "idle timeout for receiving data",
	IECREATESTREAM:   "unable to create a new stream",
	IEINITSTREAM:     "unable to initialize stream",
	IESTREAMLISTEN:   "unable to start stream listener",
	IESTREAMCONNECT:  "unable to connect stream",
	IESTREAMACCEPT:   "unable to accept stream connection",
	IESTREAMWRITE:    "unable to write to stream socket",
	IESTREAMREAD:     "unable to read from stream socket",
	IESTREAMCLOSE:    "stream socket has closed unexpectedly",
	IESTREAMID:       "stream has an invalid id",
	IENEWTIMER:       "unable to create new timer",
	IEUPDATETIMER:    "unable to update timer",
}

// ErrorText returns iperf3's message for an error number.
func ErrorText(num int32) string {
	if s, ok := errorTexts[num]; ok {
		return s
	}
	return "iperf3 error " + strconv.Itoa(int(num))
}
