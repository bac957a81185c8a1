//go:build linux

package accuracy

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/netnstest"
	"github.com/iperfmon/iperfmon/internal/testenv"
)

// nsPrefix starts the name of every namespace this suite creates; the PID
// of the test binary follows, so that leftovers of a crashed run can be told
// from the namespaces of a run still going.
const nsPrefix = "iperfmon-acc-"

// The link's addresses: TEST-NET-1 (RFC 5737) and a ULA (RFC 4193). Traffic
// goes only to these, inside namespaces the suite owns.
const (
	srvAddr4, cliAddr4 = "192.0.2.1", "192.0.2.2"
	srvAddr6, cliAddr6 = "fd00::1", "fd00::2"
	// Interface names live inside the namespaces, so they cannot collide.
	srvDev, cliDev = "acc-srv", "acc-cli"
	linkMTU        = 1500
)

var nsSeq atomic.Int64

// side names one end of the link. The server runs in srvSide, the client in
// cliSide; shaping an end limits what leaves it (its egress).
type side int

const (
	srvSide side = iota
	cliSide
)

func (s side) String() string { return [...]string{"server", "client"}[s] }

// link is a veth pair between two fresh network namespaces.
type link struct {
	tl    tools
	ns    [2]string // by side
	dev   [2]string
	ports atomic.Int32
}

// newLink creates the two namespaces and the veth pair between them, and
// removes them when the test ends (t.Cleanup also runs when the test
// panics). Leftovers of crashed runs are removed first.
func newLink(t testing.TB) *link {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the accuracy suite runs for minutes of shaped-link measurements")
	}
	tl := requireTools(t)
	netnstest.RemoveStale(nsPrefix)
	id := fmt.Sprintf("%s%d", netnstest.Own(nsPrefix), nsSeq.Add(1))
	l := &link{tl: tl, ns: [2]string{id + "-s", id + "-c"}, dev: [2]string{srvDev, cliDev}}
	l.ports.Store(20000)
	t.Cleanup(l.destroy)

	if err := l.cmd(tl.ip, "netns", "add", l.ns[srvSide]); err != nil {
		testenv.Unavailable(t, "cannot create a network namespace (needs root and CONFIG_NET_NS): %v", err)
	}
	steps := [][]string{
		{tl.ip, "netns", "add", l.ns[cliSide]},
		{tl.ip, "link", "add", srvDev, "netns", l.ns[srvSide], "type", "veth", "peer", "name", cliDev, "netns", l.ns[cliSide]},
		{tl.ip, "-n", l.ns[srvSide], "addr", "add", srvAddr4 + "/24", "dev", srvDev},
		{tl.ip, "-n", l.ns[cliSide], "addr", "add", cliAddr4 + "/24", "dev", cliDev},
		// nodad: the addresses work at once instead of after duplicate address detection.
		{tl.ip, "-n", l.ns[srvSide], "addr", "add", srvAddr6 + "/64", "dev", srvDev, "nodad"},
		{tl.ip, "-n", l.ns[cliSide], "addr", "add", cliAddr6 + "/64", "dev", cliDev, "nodad"},
		{tl.ip, "-n", l.ns[srvSide], "link", "set", srvDev, "mtu", strconv.Itoa(linkMTU), "up"},
		{tl.ip, "-n", l.ns[cliSide], "link", "set", cliDev, "mtu", strconv.Itoa(linkMTU), "up"},
		{tl.ip, "-n", l.ns[srvSide], "link", "set", "lo", "up"},
		{tl.ip, "-n", l.ns[cliSide], "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if err := l.cmd(s...); err != nil {
			testenv.Unavailable(t, "cannot set up the veth link between namespaces: %v", err)
		}
	}
	// Probe the qdiscs and nftables once, so that a kernel without them
	// skips (or fails in CI) with a clear reason instead of failing cases.
	for _, q := range []string{"tbf", "htb"} {
		if err := l.shape(cliSide, shaping{qdisc: q, rate: 100e6}); err != nil {
			testenv.Unavailable(t, "tc qdisc %s unavailable in this kernel: %v", q, err)
		}
	}
	l.unshape(cliSide)
	if err := l.nftApply(srvSide, dropRule{every: 100}); err != nil {
		testenv.Unavailable(t, "nftables unavailable in this kernel: %v", err)
	}
	l.nftFlush(srvSide)
	return l
}

// destroy deletes both namespaces; the veth pair goes with them.
func (l *link) destroy() {
	for _, ns := range l.ns {
		_ = l.cmd(l.tl.ip, "netns", "delete", ns)
	}
}

// cmd runs a short configuration command with a deadline.
func (l *link) cmd(args ...string) error {
	return l.cmdIn("", args...)
}

// cmdIn runs a configuration command with stdin.
func (l *link) cmdIn(stdin string, args ...string) error {
	return netnstest.Run(stdin, args...)
}

// output runs a configuration command and returns its stdout.
func (l *link) output(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// nextPort returns a port for the next test. The namespaces are private to
// this link, so nothing else listens in them; a fresh port per test keeps
// TIME_WAIT and late datagrams of one test away from the next.
func (l *link) nextPort() int {
	return int(l.ports.Add(1))
}

// addr returns the server's address for an address family (4 or 6).
func (l *link) addr(family int) string {
	if family == 6 {
		return srvAddr6
	}
	return srvAddr4
}

// setMTU sets the MTU of both ends.
func (l *link) setMTU(mtu int) error {
	for _, s := range []side{srvSide, cliSide} {
		if err := l.cmd(l.tl.ip, "-n", l.ns[s], "link", "set", l.dev[s], "mtu", strconv.Itoa(mtu)); err != nil {
			return err
		}
	}
	return nil
}
