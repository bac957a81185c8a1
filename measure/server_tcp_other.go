//go:build !linux

package measure

import (
	"errors"
	"net"
)

// setCongestion: choosing the congestion control algorithm is Linux-only.
func setCongestion(*net.TCPConn, string) error {
	return errors.New("setting the TCP congestion control algorithm is not supported on this platform")
}
