//go:build !linux

package measure

import "errors"

// MPTCPAvailable reports why this host cannot open Multipath TCP sockets:
// iperfmon speaks MPTCP on Linux only.
func MPTCPAvailable() error {
	return errors.New("MPTCP: supported on Linux only; leave out -m")
}
