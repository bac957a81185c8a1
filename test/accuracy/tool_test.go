//go:build linux

package accuracy

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// tool is an iperf3-compatible program: stock iperf3 or iperfmon.
type tool struct {
	name       string
	path       string
	serverArgs func(port int) []string
	clientArgs func(host string, port int) []string
}

func iperf3Tool(path string) *tool {
	return &tool{
		name: "iperf3",
		path: path,
		// -J: with --get-server-output the client then carries the
		// server's own JSON report (server_output_json).
		serverArgs: func(port int) []string { return []string{"-s", "-J", "-1", "-p", strconv.Itoa(port)} },
		clientArgs: func(host string, port int) []string { return []string{"-c", host, "-p", strconv.Itoa(port)} },
	}
}

func iperfmonTool(path string) *tool {
	return &tool{
		name:       "iperfmon",
		path:       path,
		serverArgs: func(port int) []string { return []string{"server", "-1", "-p", strconv.Itoa(port)} },
		clientArgs: func(host string, port int) []string { return []string{"client", host, "-p", strconv.Itoa(port)} },
	}
}

// pair is who runs the client and who the server.
type pair struct{ client, server *tool }

func (p pair) String() string {
	if p.client == p.server {
		return p.client.name
	}
	return p.client.name + " client, " + p.server.name + " server"
}

type direction int

const (
	forward direction = iota // client sends
	reverse                  // -R: server sends
	bidir                    // --bidir
)

func (d direction) String() string { return [...]string{"fwd", "rev", "bidir"}[d] }

// sender is the end whose egress carries the test's data.
func (d direction) sender() side {
	if d == reverse {
		return srvSide
	}
	return cliSide
}

// receiver is the end where the data arrives.
func (d direction) receiver() side {
	if d == reverse {
		return cliSide
	}
	return srvSide
}

// spec is one test, in iperf3's flags.
type spec struct {
	udp     bool
	dir     direction
	family  int     // 4 or 6
	bitrate float64 // -b in bits/s; 0 leaves the tool's default
	length  int     // -l; 0 leaves the tool's default
	window  string  // -w
	// serverOutput asks for the server's report (--get-server-output).
	serverOutput bool
	// noGSO sends one datagram per packet (IPERFMON_DISABLE_GSO=1; stock
	// iperf3 always does): nftables sees a UDP GSO super-packet as one
	// packet, so its per-packet drops would take out whole batches.
	noGSO bool
	time  int // -t
	omit  int // -O
}

func (s spec) args() []string {
	a := []string{"-J", "-t", strconv.Itoa(s.time), "-O", strconv.Itoa(s.omit), "-" + strconv.Itoa(s.family)}
	if s.udp {
		a = append(a, "-u")
	}
	if s.bitrate > 0 {
		a = append(a, "-b", strconv.FormatInt(int64(s.bitrate), 10))
	}
	if s.length > 0 {
		a = append(a, "-l", strconv.Itoa(s.length))
	}
	if s.window != "" {
		a = append(a, "-w", s.window)
	}
	if s.serverOutput {
		a = append(a, "--get-server-output")
	}
	switch s.dir {
	case reverse:
		a = append(a, "-R")
	case bidir:
		a = append(a, "--bidir")
	}
	return a
}

// niceLevel is the scheduling priority of the measured programs. The suite
// measures the tools against the link, not against whatever else the host
// is running: on a shared CI runner, a sender descheduled for a few ms
// leaves the shaper idle and both tools report less than the truth. Set
// ACCURACY_NICE=0 to run them at normal priority.
func niceLevel() int {
	if v, err := strconv.Atoi(os.Getenv("ACCURACY_NICE")); err == nil {
		return v
	}
	return -10
}

// proc is a program running in one of the link's namespaces, in its own
// process group, killed if the test binary dies.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr *capped
	done           chan struct{}
	err            error
}

func (l *link) start(ctx context.Context, s side, env []string, path string, args ...string) (*proc, error) {
	argv := []string{l.tl.ip, "netns", "exec", l.ns[s], path}
	if n := niceLevel(); n != 0 {
		argv = append([]string{l.tl.nice, "-n", strconv.Itoa(n)}, argv...)
	}
	argv = append(argv, args...)
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if len(env) > 0 {
		c.Env = append(os.Environ(), env...)
	}
	p := &proc{cmd: c, stdout: &capped{max: 4 << 20}, stderr: &capped{max: 64 << 10}, done: make(chan struct{})}
	c.Stdout, c.Stderr = p.stdout, p.stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	c.WaitDelay = 2 * time.Second
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	go func() { p.err = c.Wait(); close(p.done) }()
	return p, nil
}

// stop kills the process group unless it has exited, and waits for it.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// wait waits for the process to exit by itself, up to d.
func (p *proc) wait(d time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		return fmt.Errorf("still running after %v", d)
	}
}

// waitListening polls the server's namespace until something listens on
// port over TCP, so that the client never races the server's start.
func (l *link) waitListening(p *proc, port int) error {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		out, err := l.output(l.tl.ss, "-N", l.ns[srvSide], "-Hltn", "sport = :"+strconv.Itoa(port))
		if err == nil && strings.TrimSpace(out) != "" {
			return nil
		}
		select {
		case <-p.done:
			return &toolError{msg: fmt.Sprintf("server exited before listening: %v: %s", p.err, p.stderr.String())}
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("server not listening on port %d after 5s: %s", port, p.stderr.String())
}

// measure runs one test: a one-off server in the server namespace, the
// client with -J in the client namespace. It returns the parsed client
// output; the raw JSON is kept in result.raw.
func (l *link) measure(p pair, s spec) (*result, error) {
	port := l.nextPort()
	limit := time.Duration(s.time+s.omit)*time.Second + 25*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()

	var env []string
	if s.noGSO {
		env = []string{"IPERFMON_DISABLE_GSO=1"}
	}
	srv, err := l.start(ctx, srvSide, env, p.server.path, p.server.serverArgs(port)...)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	if err := l.waitListening(srv, port); err != nil {
		return nil, fmt.Errorf("%s server: %w", p.server.name, err)
	}
	cli, err := l.start(ctx, cliSide, env, p.client.path, append(p.client.clientArgs(l.addr(s.family), port), s.args()...)...)
	if err != nil {
		return nil, err
	}
	<-cli.done
	cliErr := cli.err
	// A one-off server exits after the test; give it a moment to finish.
	srvErr := srv.wait(3 * time.Second)
	res, perr := parseResult(cli.stdout.Bytes())
	if perr != nil || cliErr != nil {
		detail := fmt.Sprintf("client stderr: %s\nserver (%v) stderr: %s\nclient stdout: %.2000s",
			cli.stderr.String(), srvErr, srv.stderr.String(), cli.stdout.String())
		if perr != nil {
			return res, fmt.Errorf("%s %s: %w\n%s", p, strings.Join(s.args(), " "), perr, detail)
		}
		return res, fmt.Errorf("%s %s: client exited: %v\n%s", p, strings.Join(s.args(), " "), cliErr, detail)
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("%s: timed out after %v", p, limit)
	}
	return res, nil
}

// capped is a concurrency-safe buffer that keeps at most max bytes.
type capped struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (c *capped) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(b[:min(len(b), room)])
	}
	return len(b), nil
}

func (c *capped) Bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.buf.Bytes())
}

func (c *capped) String() string { return strings.TrimSpace(string(c.Bytes())) }
