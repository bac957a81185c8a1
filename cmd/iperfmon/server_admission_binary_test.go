package main

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// --max-pending-per-source reaches the server: with 2, a third connection
// from one address holding part of a cookie makes the server close the
// OLDEST at once (long before the 3 s cookie timeout) and keep the new one.
// Connections younger than half a second are spared (a client's streams
// arrive together), so the first two hold a while before the third.
func TestServerMaxPendingPerSourceBinary(t *testing.T) {
	_, port := startServer(t, "--max-pending-per-source", "2")
	time.Sleep(200 * time.Millisecond) // the readiness probe's connection is gone
	var conns []net.Conn
	for i := range 3 {
		if i == 2 {
			time.Sleep(600 * time.Millisecond) // the first two are past the 500 ms grace of young connections
		}
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 2*time.Second)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		_, err = c.Write([]byte("abcdefghij"))
		require.NoError(t, err)
		conns = append(conns, c)
		time.Sleep(50 * time.Millisecond) // accepted in this order
	}
	var buf [8]byte
	var ne net.Error
	_ = conns[0].SetReadDeadline(time.Now().Add(time.Second))
	_, err := conns[0].Read(buf[:])
	require.Error(t, err)
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the oldest connection was not shed: %v", err)
	for i, c := range conns[1:] {
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, err := c.Read(buf[:])
		require.True(t, errors.As(err, &ne) && ne.Timeout(), "connection %d should still wait for its cookie: %v", i+1, err)
	}
}
