package iperf3wire

import "strconv"

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
	ServerError     State = -2
)

var stateNames = map[State]string{
	TestStart: "TEST_START", TestRunning: "TEST_RUNNING", TestEnd: "TEST_END",
	ParamExchange: "PARAM_EXCHANGE", CreateStreams: "CREATE_STREAMS",
	ServerTerminate: "SERVER_TERMINATE", ClientTerminate: "CLIENT_TERMINATE",
	ExchangeResults: "EXCHANGE_RESULTS", DisplayResults: "DISPLAY_RESULTS",
	IperfStart: "IPERF_START", IperfDone: "IPERF_DONE",
	AccessDenied: "ACCESS_DENIED", ServerError: "SERVER_ERROR",
}

func (s State) String() string {
	if n, ok := stateNames[s]; ok {
		return n
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}
