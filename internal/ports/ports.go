// Package ports finds free loopback ports and tells when one listens, for
// tests and benchmarks that start programs which cannot be told to listen
// on port 0 (stock iperf3, iperfmon's binary, Telegraf, InfluxDB).
package ports

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// tries bounds the search: a port the kernel hands out for TCP is almost
// always free for UDP as well.
const tries = 20

// Free returns a port on host (e.g. "127.0.0.1" or "::1") that was free a
// moment ago for both TCP and UDP: iperf3 servers listen on both. Another
// process may still take it before the caller binds it, so callers that
// can, retry.
func Free(host string) (int, error) {
	ports, err := FreeN(host, 1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

// FreeN returns n distinct such ports.
func FreeN(host string, n int) ([]int, error) {
	ports := make([]int, 0, n)
	var held []net.Listener // keep each port taken until all are found, so they differ
	defer func() {
		for _, l := range held {
			_ = l.Close()
		}
	}()
	for try := 0; len(ports) < n; try++ {
		if try >= tries*n {
			return nil, fmt.Errorf("ports: no %d ports free for TCP and UDP on %s after %d tries", n, host, try)
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("ports: %w", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			_ = ln.Close()
			continue
		}
		_ = pc.Close()
		held = append(held, ln)
		ports = append(ports, port)
	}
	return ports, nil
}

// Listening reports whether something listens on TCP port, on any local
// address. It reads /proc/net/tcp{,6} (Linux): a probe connection would be
// taken as the one test of a one-off (-1) iperf3 server.
func Listening(port int) bool {
	want := fmt.Sprintf(":%04X", port)
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			fs := strings.Fields(line)
			// sl local_address rem_address st ...; st 0A is LISTEN.
			if len(fs) > 3 && strings.HasSuffix(fs[1], want) && fs[3] == "0A" {
				return true
			}
		}
	}
	return false
}
