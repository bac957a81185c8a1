package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/iperfmon/iperfmon/measure"
	"github.com/spf13/pflag"
)

// iperf3's options beyond the core test flags: those of newer releases,
// output shaping, and those iperfmon accepts without effect or refuses
// with the reason. docs/cli.md has the table of every iperf3 3.22 option.

// commonCompat are options iperf3 takes in client and server mode.
type commonCompat struct {
	jsonStream, jsonStreamFull bool
	timestamps                 string // strftime format; "" is off
	logfile                    string
	forceflush, verbose        bool
	mptcp, daemon              bool
	rcvTimeout, sndTimeout     time.Duration
	bindDev                    string
	affinity                   string
	pidfile                    string
}

// clientCompat are client-only iperf3 options.
type clientCompat struct {
	title, extraData                      string
	cntlKA                                string
	dontFragment, repeating, skipRx, gsro bool
	fqRate                                int64
	pacingTimer                           int
}

// defaultTimestamps is iperf3's --timestamps format.
const defaultTimestamps = "%c "

func (c *commonCompat) register(fs *pflag.FlagSet, server bool) {
	fs.BoolVar(&c.jsonStream, "json-stream", false, "line-delimited JSON: one start, interval and end event per line")
	fs.BoolVar(&c.jsonStreamFull, "json-stream-full-output", false, "with --json-stream, also the whole -J document at the end")
	fs.StringVar(&c.timestamps, "timestamps", "", "prefix every text output line with the time (strftime format, default \"%c \")")
	fs.Lookup("timestamps").NoOptDefVal = defaultTimestamps
	fs.StringVar(&c.logfile, "logfile", "", "append the output (stdout and stderr) to this file")
	fs.BoolVar(&c.forceflush, "forceflush", false, "accepted: iperfmon never buffers its output")
	fs.BoolVarP(&c.verbose, "verbose", "V", false, "accepted: the text report is the same with and without -V")
	fs.Var(durationValue{&c.rcvTimeout, time.Millisecond}, "rcv-timeout", "idle timeout for receiving data: milliseconds or a duration (min 100ms)")
	fs.Var(durationValue{&c.sndTimeout, time.Millisecond}, "snd-timeout", "TCP_USER_TIMEOUT of the data streams: milliseconds or a duration")
	fs.StringVar(&c.bindDev, "bind-dev", "", "bind the sockets to this network interface (SO_BINDTODEVICE)")
	fs.StringVarP(&c.affinity, "affinity", "A", "", "pin iperfmon to CPU core n")
	fs.StringVarP(&c.pidfile, "pidfile", "I", "", "write the process id to this file (removed on exit)")
	refuse(fs, "file", "F", true, "iperfmon measures the network, not disks or files: use -n SIZE to send that many bytes")
	fs.BoolVarP(&c.mptcp, "mptcp", "m", false, "use Multipath TCP (MPTCP) rather than plain TCP (Linux; refused where the kernel lacks it)")
	if server {
		fs.BoolVarP(&c.daemon, "daemon", "D", false, "run the server in the background (its output: --logfile; its pid: -I)")
	}
}

func (c *clientCompat) register(fs *pflag.FlagSet) {
	fs.StringVarP(&c.title, "title", "T", "", "prefix every text output line with this string (and \"title\" in -J)")
	fs.StringVar(&c.extraData, "extra-data", "", "a string to include in the JSON output")
	fs.StringVar(&c.cntlKA, "cntl-ka", "", "TCP keepalive on the control connection: [IDLE[/INTERVAL[/COUNT]]] seconds")
	fs.Lookup("cntl-ka").NoOptDefVal = "/"
	fs.BoolVar(&c.dontFragment, "dont-fragment", false, "set the IPv4 don't-fragment bit on UDP datagrams")
	fs.Var(rateValue{&c.fqRate}, "fq-rate", "fair-queuing socket pacing per stream in bits/s (SO_MAX_PACING_RATE)")
	fs.Var(intValue{&c.pacingTimer, 1, 1_000_000, 10}, "pacing-timer", "accepted: iperfmon paces without a timer (deprecated in iperf3)")
	fs.BoolVar(&c.repeating, "repeating-payload", false, "send iperf3's repeating pattern instead of random bytes")
	fs.BoolVar(&c.skipRx, "skip-rx-copy", false, "accepted: iperfmon always receives TCP with MSG_TRUNC")
	fs.BoolVar(&c.gsro, "gsro", false, "accepted: iperfmon always uses UDP GSO/GRO where the kernel has it")
	refuse(fs, "sctp", "", false, "iperfmon does not speak SCTP: use TCP (default) or -u")
	refuse(fs, "xbind", "X", true, "iperfmon does not speak SCTP: use -B to bind")
	refuse(fs, "nstreams", "", true, "iperfmon does not speak SCTP: use -P for parallel TCP streams")
	refuse(fs, "flowlabel", "L", true, "iperfmon does not set IPv6 flow labels (the kernel's automatic labels, net.ipv6.auto_flowlabels, stay in effect)")
	for _, name := range []string{"pacing-timer", "skip-rx-copy", "gsro"} {
		_ = fs.MarkHidden(name)
	}
}

// refusedValue is an iperf3 option iperfmon does not offer: naming it
// gives the reason and what to use instead, never "unknown flag".
type refusedValue struct{ why string }

func (v refusedValue) Set(string) error { return errors.New(v.why) }
func (v refusedValue) String() string   { return "" }
func (v refusedValue) Type() string     { return "refused" }

func refuse(fs *pflag.FlagSet, name, short string, value bool, why string) {
	f := fs.VarPF(refusedValue{"not supported: " + why}, name, short, "not supported")
	if !value {
		f.NoOptDefVal = "true"
	}
	f.Hidden = true
}

// debugValue is -d/--debug[=LEVEL]: iperf3's levels 1..4 all turn on
// iperfmon's debug output.
type debugValue struct{ p *bool }

func (v debugValue) Set(s string) error {
	if b, err := strconv.ParseBool(s); err == nil {
		*v.p = b
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 4 {
		return fmt.Errorf("invalid debug level %q: allowed 1 to 4 (iperf3's levels; any turns on debug output)", s)
	}
	*v.p = true
	return nil
}
func (v debugValue) String() string   { return "" }
func (v debugValue) Type() string     { return "level" }
func (v debugValue) IsBoolFlag() bool { return true }

func registerDebug(fs *pflag.FlagSet, p *bool) {
	f := fs.VarPF(debugValue{p}, "debug", "d", "debug output on stderr (iperf3's --debug=1..4 accepted)")
	f.NoOptDefVal = "4"
}

// check validates the common options (ranges as iperf3 checks them).
func (c *commonCompat) check(changed func(string) bool) error {
	if changed("rcv-timeout") && (c.rcvTimeout < 100*time.Millisecond || c.rcvTimeout > 24*time.Hour) {
		return usagef("--rcv-timeout: %v out of range; allowed 100 ms to 24h (iperf3: receive timeout value is incorrect or not in range)", c.rcvTimeout)
	}
	if c.jsonStreamFull && !c.jsonStream {
		return usagef("--json-stream-full-output: only with --json-stream")
	}
	if c.mptcp {
		if err := measure.MPTCPAvailable(); err != nil {
			return usagef("-m/--mptcp: %v", err)
		}
	}
	if c.affinity != "" {
		if _, err := parseAffinity(c.affinity); err != nil {
			return err
		}
	}
	return nil
}

// parseAffinity reads -A n[,m]: the core to pin to. m (the server's core,
// which iperf3 asks the server to take) is refused.
func parseAffinity(s string) (int, error) {
	n, m, two := strings.Cut(s, ",")
	core, err := strconv.Atoi(n)
	if err != nil || core < 0 || core >= 1024 {
		return 0, usagef("-A/--affinity: invalid core %q: allowed a core number 0 to 1023", n)
	}
	if two {
		return 0, usagef("-A/--affinity %s: the server's core (,%s) is not supported: pin the server on its own host with -A", s, m)
	}
	return core, nil
}

// keepAlive parses --cntl-ka[=IDLE/INTERVAL/COUNT] (each optional).
func (c *clientCompat) keepAlive(changed func(string) bool) (net.KeepAliveConfig, error) {
	if !changed("cntl-ka") {
		return net.KeepAliveConfig{}, nil
	}
	ka := net.KeepAliveConfig{Enable: true}
	parts := strings.Split(c.cntlKA, "/")
	if len(parts) > 3 {
		return ka, usagef("--cntl-ka: invalid value %q: allowed [IDLE[/INTERVAL[/COUNT]]], seconds and a count", c.cntlKA)
	}
	vals := make([]int, 3)
	for i, p := range parts {
		if p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return ka, usagef("--cntl-ka: invalid value %q: allowed [IDLE[/INTERVAL[/COUNT]]], positive whole numbers", c.cntlKA)
		}
		vals[i] = n
	}
	if vals[0] > 0 && vals[1] > 0 && vals[2] > 0 && vals[0] <= vals[1]*vals[2] {
		return ka, usagef("--cntl-ka %s: the keepalive idle time must be larger than interval × count (iperf3: control connection Keepalive period should be larger than the full retry period)", c.cntlKA)
	}
	ka.Idle, ka.Interval, ka.Count = time.Duration(vals[0])*time.Second, time.Duration(vals[1])*time.Second, vals[2]
	for _, d := range []*time.Duration{&ka.Idle, &ka.Interval} {
		if *d == 0 {
			*d = -1 // the system's setting
		}
	}
	if ka.Count == 0 {
		ka.Count = -1
	}
	return ka, nil
}

// writePidfile writes the process id to path; the returned func removes it.
func writePidfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("-I/--pidfile: %w", err)
	}
	return func() { _ = os.Remove(path) }, nil
}

// applyCommon puts the common options into effect for this run: --logfile
// (stdout and stderr go to the file, as iperf3 sends all its output),
// -I, -A, and the --timestamps / -T prefixes of text output. done undoes
// what needs undoing at exit.
func (a *app) applyCommon(c *commonCompat, text bool, title string) (done func(), err error) {
	var undo []func()
	done = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	if c.logfile != "" {
		f, err := os.OpenFile(c.logfile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return done, usagef("--logfile: %v", err)
		}
		undo = append(undo, func() { _ = f.Close() })
		a.stdout, a.stderr = f, f
	}
	rm, err := writePidfile(c.pidfile)
	if err != nil {
		done()
		return func() {}, usagef("%v", err)
	}
	undo = append(undo, rm)
	if c.affinity != "" {
		core, _ := parseAffinity(c.affinity) // checked with the flags
		if err := setAffinity(core); err != nil {
			done()
			return func() {}, usagef("-A/--affinity %d: %v", core, err)
		}
	}
	if text && (c.timestamps != "" || title != "") {
		a.stdout = &prefixWriter{w: a.stdout, timeFormat: c.timestamps, title: title, now: time.Now}
	}
	return done, nil
}
