package measure_test

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
	"github.com/iperfmon/iperfmon/internal/servertest"
	"github.com/iperfmon/iperfmon/measure"
	"github.com/stretchr/testify/require"
)

// udpConnect sends iperf3's UDP connect datagram from local to the server
// and reports whether the server answered within d.
func udpConnect(t *testing.T, local netip.Addr, ts *servertest.Server, d time.Duration) bool {
	t.Helper()
	c, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(local, 0)),
		net.UDPAddrFromAddrPort(netip.MustParseAddrPort(ts.Addr())))
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write(binary.BigEndian.AppendUint32(nil, iperf3wire.UDPConnectMsg))
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(d)))
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if os.IsTimeout(err) {
		return false
	}
	require.NoError(t, err)
	return n == 4 && binary.BigEndian.Uint32(buf) == iperf3wire.UDPConnectReply
}

// --allow covers UDP streams too: while an allowed client's UDP test waits
// for its streams, a connect datagram from an address outside the list is
// ignored. Without this, anyone could take the stream (the datagram has no
// cookie) and, in reverse mode, have the server send the test's traffic to
// an address of their choosing.
func TestServerAllowCoversUDPStreams(t *testing.T) {
	srv := &measure.Server{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	ts := servertest.Start(t, srv, "127.0.0.1:0")
	rc := servertest.DialRaw(t, ts)
	rc.SendCookie()
	rc.ExpectState(iperf3wire.ParamExchange)
	p := servertest.TCPParams(1, 1)
	delete(p, "tcp")
	p["udp"], p["len"], p["bandwidth"], p["reverse"] = true, 1400, 1000000, true
	rc.SendJSON(p)
	rc.ExpectState(iperf3wire.CreateStreams)

	require.False(t, udpConnect(t, netip.MustParseAddr("127.0.0.2"), ts, 700*time.Millisecond),
		"the server gave a UDP stream to 127.0.0.2, which is not in the allow list")
	require.True(t, udpConnect(t, netip.MustParseAddr("127.0.0.1"), ts, 2*time.Second),
		"the allowed client got no UDP stream")
	rc.ExpectState(iperf3wire.TestStart)
}
