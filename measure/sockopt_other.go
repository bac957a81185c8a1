//go:build !linux

package measure

import "syscall"

// dialControl: TOS, MSS and congestion control are applied on Linux only;
// elsewhere they are ignored (socket buffers are still set on each stream).
func dialControl(Test, bool) func(network, address string, c syscall.RawConn) error {
	return nil
}

// deviceControl: SO_BINDTODEVICE is Linux only.
func deviceControl(string) func(network, address string, c syscall.RawConn) error { return nil }
