//go:build linux

package fleet

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/netnstest"
	"github.com/iperfmon/iperfmon/internal/testenv"
)

// nsPrefix starts every namespace this suite creates; the test binary's
// PID follows, so that leftovers of a crashed run can be told apart.
const nsPrefix = "iperfmon-flt-"

var lanSeq atomic.Int64

// lan is a bridge in a "switch" namespace with hosts attached, each in its
// own namespace with one veth link (eth0) to a bridge port.
type lan struct {
	t      testing.TB
	ip, tc string
	id     string
	sw     string // the switch namespace
	ports  int
	procs  []*proc
}

// host is one namespace on the lan.
type host struct {
	name, ns, addr string
	port           string // its bridge port in the switch namespace
}

// newLAN creates the switch namespace and its bridge; everything is
// removed when the test ends.
func newLAN(t testing.TB) *lan {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the fleet suite runs minutes of shaped tests")
	}
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	ip := testenv.RequireTool(t, "ip")
	tc := testenv.RequireTool(t, "tc")
	netnstest.RemoveStale(nsPrefix)
	id := fmt.Sprintf("%s%d", netnstest.Own(nsPrefix), lanSeq.Add(1))
	l := &lan{t: t, ip: ip, tc: tc, id: id, sw: id + "-sw"}
	t.Cleanup(l.destroy)
	if err := run(ip, "netns", "add", l.sw); err != nil {
		testenv.Unavailable(t, "cannot create a network namespace (needs root and CONFIG_NET_NS): %v", err)
	}
	for _, s := range [][]string{
		{ip, "-n", l.sw, "link", "add", "br0", "type", "bridge"},
		{ip, "-n", l.sw, "link", "set", "br0", "up"},
	} {
		if err := run(s...); err != nil {
			testenv.Unavailable(t, "cannot create a bridge: %v", err)
		}
	}
	return l
}

// shaping says which directions of a host's link are shaped.
type shaping int

const (
	bothWays    shaping = iota // what it sends (eth0) and receives (its bridge port)
	receiveOnly                // only its bridge port: one shaper on every path of a mesh
)

// addHost creates a host namespace with addr/24 on eth0. With rate > 0 its
// link is shaped to rate bits/s (tbf), so that two tests at once on this
// host share the rate.
func (l *lan) addHost(name, addr string, rate float64, how shaping) *host {
	l.t.Helper()
	h := &host{name: name, ns: l.id + "-" + name, addr: addr, port: "p" + strconv.Itoa(l.ports)}
	l.ports++
	steps := [][]string{
		{l.ip, "netns", "add", h.ns},
		{l.ip, "link", "add", "eth0", "netns", h.ns, "type", "veth", "peer", "name", h.port, "netns", l.sw},
		{l.ip, "-n", h.ns, "addr", "add", addr + "/24", "dev", "eth0"},
		{l.ip, "-n", h.ns, "link", "set", "eth0", "up"},
		{l.ip, "-n", h.ns, "link", "set", "lo", "up"},
		{l.ip, "-n", l.sw, "link", "set", h.port, "master", "br0", "up"},
	}
	if rate > 0 {
		r := strconv.FormatInt(int64(rate), 10) + "bit"
		// A burst of a few packets and 20 ms of queue: a TCP sender keeps
		// the link busy, and a second test on it would show as half rate.
		burst := strconv.Itoa(max(int(rate/8/1000*2), 4*1514))
		devs := [][2]string{{l.sw, h.port}}
		if how == bothWays {
			devs = append(devs, [2]string{h.ns, "eth0"})
		}
		for _, dev := range devs {
			steps = append(steps, []string{l.tc, "-n", dev[0], "qdisc", "add", "dev", dev[1], "root", "tbf",
				"rate", r, "burst", burst, "latency", "20ms"})
		}
	}
	for _, s := range steps {
		if err := run(s...); err != nil {
			testenv.Unavailable(l.t, "cannot set up host %s: %v", name, err)
		}
	}
	return h
}

// start runs a program in h's namespace until the test ends (or stop).
func (l *lan) start(h *host, args ...string) *proc {
	l.t.Helper()
	p := &proc{name: h.name + " " + args[0]}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.cmd = exec.CommandContext(ctx, l.ip, append([]string{"netns", "exec", h.ns}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	// SIGTERM first: iperfmon run ends its tests and exits cleanly.
	p.cmd.Cancel = func() error { return p.cmd.Process.Signal(syscall.SIGTERM) }
	p.cmd.WaitDelay = 5 * time.Second
	if err := p.cmd.Start(); err != nil {
		l.t.Fatalf("start %s in %s: %v", args[0], h.ns, err)
	}
	p.done = make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	l.procs = append(l.procs, p)
	return p
}

// proc is a program running in a namespace.
type proc struct {
	name           string
	cmd            *exec.Cmd
	cancel         context.CancelFunc
	done           chan struct{}
	stdout, stderr testenv.Buffer
}

// stop ends the program (SIGTERM, then SIGKILL after 5 s) and waits.
func (p *proc) stop() {
	p.cancel()
	<-p.done
}

func (l *lan) destroy() {
	for _, p := range l.procs {
		p.stop()
	}
	netnstest.Remove(l.id + "-")
}

// run runs a short configuration command with a deadline.
func run(args ...string) error { return netnstest.Run("", args...) }
