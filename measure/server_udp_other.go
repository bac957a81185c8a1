//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package measure

import "syscall"

// reusePortControl: this platform has no SO_REUSEPORT; a UDP stream socket
// cannot share the listener's port with the dispatcher, so UDP tests fail
// with a clear error from the stream socket's bind.
func reusePortControl(_, _ string, _ syscall.RawConn) error { return nil }
