//go:build !linux

package measure

import "golang.org/x/net/icmp"

// probeReader reads replies timed at the read: kernel receive timestamps
// are used on Linux only.
func probeReader(c *icmp.PacketConn, _ bool) replyReader { return plainReader(c) }
