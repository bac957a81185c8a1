// Package report renders a measure.Result the way iperf3 does: human text
// (Text) and iperf3's --json document (JSON). Units, column headers and
// the shared parts of each line come from internal/iperf3text, which the
// server's --get-server-output text (in measure) uses too.
package report

import (
	"net"
	"os"
	"runtime"
	"strconv"

	"github.com/iperfmon/iperfmon/measure"
)

// Options tune a rendering. The zero value renders a client's view.
type Options struct {
	// Version is start.version in JSON; default "iperfmon".
	Version string
	// SystemInfo is start.system_info in JSON; default "GOOS hostname GOARCH".
	SystemInfo string
	// Format is iperf3's -f letter for text: k m g t (bits/s), K M G T
	// (bytes/s), a or A adaptive; 0 means adaptive bits.
	Format byte
	// Err is the test's error; JSON then carries iperf3's "error" key.
	Err error
	// Server renders the server's view of a test: JSON gets
	// accepted_connection instead of connecting_to and bidir roles end in -S.
	Server bool
}

func (o Options) version() string {
	if o.Version != "" {
		return o.Version
	}
	return "iperfmon"
}

func (o Options) systemInfo() string {
	if o.SystemInfo != "" {
		return o.SystemInfo
	}
	host, _ := os.Hostname()
	return runtime.GOOS + " " + host + " " + runtime.GOARCH
}

// hostPort splits "host:port"; a malformed address gives (addr, 0).
func hostPort(addr string) (string, int) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	n, _ := strconv.Atoi(p)
	return h, n
}

// stream is one data stream with the direction it belongs to.
type stream struct {
	dir *measure.DirectionResult
	s   *measure.StreamResult
}

// streamsByID lists every stream of every direction in id order (iperf3
// prints them in creation order, which is id order).
func streamsByID(res *measure.Result) []stream {
	var out []stream
	for i := range res.Directions {
		d := &res.Directions[i]
		for j := range d.Streams {
			out = append(out, stream{d, &d.Streams[j]})
		}
	}
	for i := 1; i < len(out); i++ { // insertion sort: few streams, stable
		for j := i; j > 0 && out[j].s.ID < out[j-1].s.ID; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// localSends reports whether this end sends on the streams of d.
func localSends(d *measure.DirectionResult, server bool) bool {
	return (d.Direction == measure.Forward) != server
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
