package measure

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// Listen opens the TCP listener for Server.Serve. addr is "host:port"; an
// empty host (":5201") binds one dual-stack socket, [::]:port, that serves
// IPv4 and IPv6 clients, falling back to 0.0.0.0 on hosts without IPv6. An
// empty addr means ":5201". UDP tests use the same address and port.
func Listen(ctx context.Context, addr string) (net.Listener, error) {
	return listenWith(ctx, addr, false)
}

// ListenMPTCP is Listen with Multipath TCP (iperf3 -s -m): MPTCP clients
// get MPTCP connections, others plain TCP. Where the kernel lacks MPTCP it
// fails (see MPTCPAvailable) instead of listening with plain TCP.
func ListenMPTCP(ctx context.Context, addr string) (net.Listener, error) {
	if err := MPTCPAvailable(); err != nil {
		return nil, err
	}
	return listenWith(ctx, addr, true)
}

func listenWith(ctx context.Context, addr string, mptcp bool) (net.Listener, error) {
	if addr == "" {
		addr = ":" + strconv.Itoa(DefaultPort)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen: address %q: want host:port or :port", addr)
	}
	var lc net.ListenConfig
	lc.SetMultipathTCP(mptcp)
	if host != "" {
		return lc.Listen(ctx, "tcp", addr)
	}
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort("::", port))
	if err != nil && (errors.Is(err, syscall.EAFNOSUPPORT) || errors.Is(err, syscall.EADDRNOTAVAIL)) {
		return lc.Listen(ctx, "tcp4", net.JoinHostPort("0.0.0.0", port))
	}
	return ln, err
}
