package measure

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// ipprotoMPTCP is IPPROTO_MPTCP (Linux 5.6+).
const ipprotoMPTCP = 262

// MPTCPAvailable reports why this host cannot open Multipath TCP sockets,
// or nil. Go falls back to plain TCP silently where MPTCP is missing; -m
// must not, so the client and ListenMPTCP ask here first.
func MPTCPAvailable() error {
	b, err := os.ReadFile("/proc/sys/net/mptcp/enabled")
	switch {
	case errors.Is(err, os.ErrNotExist):
		return errors.New("MPTCP: this kernel has no Multipath TCP (no /proc/sys/net/mptcp/enabled; Linux 5.6+ with CONFIG_MPTCP); use plain TCP (leave out -m)")
	case err != nil:
		return fmt.Errorf("MPTCP: %w", err)
	case strings.TrimSpace(string(b)) == "0":
		return errors.New("MPTCP: disabled on this host (sysctl net.mptcp.enabled = 0); enable it or leave out -m")
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, ipprotoMPTCP)
	if err != nil {
		return fmt.Errorf("MPTCP: cannot open a Multipath TCP socket: %w; leave out -m", err)
	}
	_ = syscall.Close(fd)
	return nil
}
