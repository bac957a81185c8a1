//go:build linux

package accuracy

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// hostDrops counts datagrams the host dropped outside the link under test:
// the per-CPU input backlog (global, /proc/net/softnet_stat) and the UDP
// receive buffers in the receiving namespace. They are not the truth the
// suite injects; when they move, the machine was too busy for the attempt
// to mean anything, and the failure says so.
type hostDrops struct {
	backlog, rcvbuf int64
}

func (l *link) hostDrops(s side) hostDrops {
	var d hostDrops
	if b, err := os.ReadFile("/proc/net/softnet_stat"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 1 {
				v, _ := strconv.ParseInt(f[1], 16, 64)
				d.backlog += v
			}
		}
	}
	for _, file := range []string{"/proc/net/snmp", "/proc/net/snmp6"} {
		out, err := l.output(l.tl.ip, "netns", "exec", l.ns[s], "cat", file)
		if err != nil {
			continue
		}
		d.rcvbuf += snmpValue(out, "Udp", "RcvbufErrors") + snmpValue(out, "Udp6RcvbufErrors", "")
	}
	return d
}

// snmpValue reads a counter from /proc/net/snmp (a header line and a value
// line per protocol) or, with field "", from /proc/net/snmp6 (name value).
func snmpValue(text, proto, field string) int64 {
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if field == "" {
			if f[0] == proto && len(f) > 1 {
				v, _ := strconv.ParseInt(f[1], 10, 64)
				return v
			}
			continue
		}
		if f[0] != proto+":" || i+1 >= len(lines) {
			continue
		}
		vals := strings.Fields(lines[i+1])
		for j, name := range f {
			if name == field && j < len(vals) && vals[0] == proto+":" {
				v, _ := strconv.ParseInt(vals[j], 10, 64)
				return v
			}
		}
	}
	return 0
}

func (d hostDrops) minus(o hostDrops) hostDrops {
	return hostDrops{backlog: d.backlog - o.backlog, rcvbuf: d.rcvbuf - o.rcvbuf}
}

func (d hostDrops) String() string {
	return fmt.Sprintf("host dropped %d datagrams outside the link (UDP receive buffer %d, input backlog %d): the machine was too busy", d.rcvbuf+d.backlog, d.rcvbuf, d.backlog)
}
