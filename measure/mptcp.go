package measure

import "net"

// overMPTCP reports whether c runs over Multipath TCP: both ends asked
// for it and nothing on the way made it fall back to plain TCP.
func overMPTCP(c net.Conn) bool {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return false
	}
	mp, err := tc.MultipathTCP()
	return err == nil && mp
}
