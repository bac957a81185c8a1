package main

import (
	"context"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/stockiperf"
	"github.com/stretchr/testify/require"
)

// `server` serves stock iperf3 and iperfmon clients, records each test
// with -o influx and exits 0 on SIGTERM.
func TestServerServesStockClient(t *testing.T) {
	port := strconv.Itoa(stockiperf.FreePort(t))
	p := startIperfmon(t, "-s", "-B", "127.0.0.1", "-p", port, "-o", "influx", "--max-tests", "2", "--allow", "127.0.0.0/8")
	// Wait until it accepts: the stock client retries nothing.
	require.Eventually(t, func() bool {
		c, err := (&net.Dialer{Timeout: time.Second}).DialContext(context.Background(), "tcp", "127.0.0.1:"+port)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}, 10*time.Second, 50*time.Millisecond)
	stock := stockiperf.ClientJSON(t, mustAtoi(t, port), "-t", "1", "-R")
	_, err := stockiperf.ParseGeneric(stock, false, true, false)
	require.NoError(t, err, string(stock))
	line := p.next(t, 10*time.Second)
	ms := parseInflux(t, line)
	require.Len(t, ms, 1)
	require.Equal(t, "reverse", ms[0].Tags()["direction"])
	require.Equal(t, "success", ms[0].Tags()["result"])
	require.Equal(t, "127.0.0.1", ms[0].Tags()["client"])

	r := iperfmon(t, nil, "-c", "127.0.0.1", "-p", port, "-t", "1", "-u", "-b", "10M", "-J")
	require.Equal(t, 0, r.code, r.stderr)
	_, err = stockiperf.ParseGeneric([]byte(r.stdout), true, false, false)
	require.NoError(t, err)
	require.Contains(t, p.next(t, 10*time.Second), "protocol=udp")

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.Equal(t, 0, p.wait(t, 10*time.Second), p.stderr.String())
}
