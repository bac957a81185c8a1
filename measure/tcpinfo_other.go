//go:build !linux

package measure

import (
	"net"
	"time"
)

// tcpInfoSupported: no TCP_INFO here; retransmits, RTT and cwnd are omitted.
const tcpInfoSupported = false

type tcpInfo struct {
	totalRetrans int64
	cwnd         int64
	rtt          time.Duration
	rttvar       time.Duration
	pmtu         int64
	sndWnd       int64
	reorder      int64
}

func readTCPInfo(*net.TCPConn) (tcpInfo, bool) { return tcpInfo{}, false }

func tcpCongestion(*net.TCPConn) string { return "" }

func socketFacts(net.Conn) (mss, sndbuf, rcvbuf int) { return 0, 0, 0 }
