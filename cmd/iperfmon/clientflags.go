package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/iperfmon/iperfmon/measure"
	"github.com/iperfmon/iperfmon/measure/report"
	"github.com/spf13/pflag"
)

// Output formats of client mode.
const (
	outText       = "text"
	outJSON       = "json"
	outInflux     = "influx"
	outPrometheus = "prometheus"
	// --json-stream (and --json-stream-full-output): not -o values.
	outJSONStream     = "json-stream"
	outJSONStreamFull = "json-stream-full"
)

// clientFlags are iperf3's client options, shared by `client` and `check`.
type clientFlags struct {
	client          string
	port            int
	duration        time.Duration
	bytes, blocks   int64
	udp             bool
	bitrate         int64
	length          int64
	parallel        int
	reverse, bidir  bool
	omit            time.Duration
	window          int64
	congestion      string
	tos             int
	dscp            string
	ipv4, ipv6      bool
	bind            string
	cport           int
	interval        time.Duration
	zerocopy        bool
	connectTimeout  time.Duration
	counters64      bool
	getServerOutput bool
	username        string
	rsaPublicKey    string
	pkcs1           bool
	noDelay         bool
	mss             int
	latency         bool
	debug           bool
	help            bool
	common          commonCompat
	compat          clientCompat
}

// register adds the test flags to fs (output flags are added by client).
func (c *clientFlags) register(fs *pflag.FlagSet) {
	c.port = measure.DefaultPort
	fs.StringVarP(&c.client, "client", "c", "", "server to test (same as the HOST argument)")
	fs.VarP(intValue{&c.port, 1, 65535, 10}, "port", "p", "server port")
	fs.VarP(durationValue{&c.duration, time.Second}, "time", "t", "test duration: seconds or a duration like 30s (default 10)")
	fs.VarP(sizeValue{&c.bytes}, "bytes", "n", "end after this many bytes instead of -t (K/M/G/T suffixes)")
	fs.VarP(sizeValue{&c.blocks}, "blockcount", "k", "end after this many blocks (datagrams) instead of -t")
	fs.BoolVarP(&c.udp, "udp", "u", false, "UDP instead of TCP")
	fs.VarP(rateValue{&c.bitrate}, "bitrate", "b", "target bits/s (k/m/g/t suffixes); 0 is unlimited (default UDP 1M, TCP unlimited)")
	fs.Var(rateValue{&c.bitrate}, "bandwidth", "old name of --bitrate")
	_ = fs.MarkHidden("bandwidth")
	fs.VarP(sizeValue{&c.length}, "length", "l", "block (TCP) or datagram (UDP) size (default 128K TCP, 1460 UDP)")
	fs.VarP(intValue{&c.parallel, 1, measure.MaxParallel, 10}, "parallel", "P", "parallel streams, 1..128")
	fs.BoolVarP(&c.reverse, "reverse", "R", false, "reverse: the server sends")
	fs.BoolVar(&c.bidir, "bidir", false, "bidirectional: both ends send")
	fs.VarP(durationValue{&c.omit, time.Second}, "omit", "O", "leave out the first seconds (TCP slow start)")
	fs.VarP(sizeValue{&c.window}, "window", "w", "socket buffer size (turns off autotuning)")
	fs.StringVarP(&c.congestion, "congestion", "C", "", "TCP congestion control algorithm")
	fs.StringVar(&c.congestion, "linux-congestion", "", "old name of --congestion")
	_ = fs.MarkHidden("linux-congestion")
	fs.VarP(intValue{&c.tos, 0, 255, 0}, "tos", "S", "IP type of service, 0..255 (0x.. hex and 0.. octal accepted)")
	fs.StringVar(&c.dscp, "dscp", "", "DSCP: 0..63 or a name (af11..af43, cs0..cs7, ef, va, le)")
	fs.BoolVarP(&c.ipv4, "version4", "4", false, "IPv4 only")
	fs.BoolVarP(&c.ipv6, "version6", "6", false, "IPv6 only")
	fs.StringVarP(&c.bind, "bind", "B", "", "local address to bind to")
	fs.Var(intValue{&c.cport, 1, 65535, 10}, "cport", "local port for the data streams")
	fs.VarP(durationValue{&c.interval, time.Second}, "interval", "i", "seconds between interval reports, 0 for none (default 1)")
	fs.BoolVarP(&c.zerocopy, "zerocopy", "Z", false, "send with sendfile (TCP)")
	fs.Var(durationValue{&c.connectTimeout, time.Millisecond}, "connect-timeout", "connect timeout: milliseconds (as iperf3) or a duration like 5s (default 5s)")
	fs.BoolVar(&c.counters64, "udp-counters-64bit", false, "64-bit UDP sequence numbers")
	fs.BoolVar(&c.getServerOutput, "get-server-output", false, "show the server's own output")
	fs.StringVar(&c.username, "username", "", "user for RSA authentication; the password comes from IPERF3_PASSWORD")
	fs.StringVar(&c.rsaPublicKey, "rsa-public-key-path", "", "the server's RSA public key (PEM) for authentication")
	fs.BoolVar(&c.pkcs1, "use-pkcs1-padding", false, "PKCS#1 v1.5 padding for servers older than iperf3 3.17")
	fs.BoolVarP(&c.noDelay, "no-delay", "N", false, "set TCP_NODELAY")
	fs.VarP(intValue{&c.mss, 0, maxMSS, 10}, "set-mss", "M", "TCP maximum segment size, up to 32767 (0: the kernel's)")
	registerDebug(fs, &c.debug)
	fs.BoolVar(&c.latency, "latency", false, "also measure idle and loaded RTT with ICMP echo to the server (10 probes/s)")
	fs.BoolVarP(&c.help, "help", "h", false, "show this help")
	c.common.register(fs, false)
	c.compat.register(fs)
}

// latencyOnByDefault makes --latency default to true (check): a drop-in
// iperf3 client sends nothing iperf3 would not unless asked.
func latencyOnByDefault(fs *pflag.FlagSet, c *clientFlags) {
	c.latency = true
	fs.Lookup("latency").DefValue = "true"
}

// warnLatency logs one warning when the probe was asked for but could
// not run; the test result stands.
func warnLatency(log *logger, res *measure.Result) {
	if res != nil && res.Latency != nil && res.Latency.Unavailable != "" {
		log.Warnf("no latency probe, so no idle/loaded RTT: %s (allow ping sockets with sysctl net.ipv4.ping_group_range or grant CAP_NET_RAW; --latency=false turns the probe off)", res.Latency.Unavailable)
	}
}

// dscpNames are iperf3's DSCP names (dscp.c), as TOS byte values.
var dscpNames = map[string]int{
	"af11": 0x28, "af12": 0x30, "af13": 0x38, "af21": 0x48, "af22": 0x50, "af23": 0x58,
	"af31": 0x68, "af32": 0x70, "af33": 0x78, "af41": 0x88, "af42": 0x90, "af43": 0x98,
	"cs0": 0x00, "cs1": 0x20, "cs2": 0x40, "cs3": 0x60, "cs4": 0x80, "cs5": 0xa0, "cs6": 0xc0, "cs7": 0xe0,
	"ef": 0xb8, "va": 0xb0, "le": 0x04,
	"lowdelay": 0x10, "throughput": 0x08, "reliability": 0x04, "lowcost": 0x02, "mincost": 0x02,
}

func parseDSCP(s string) (int, error) {
	if v, ok := dscpNames[strings.ToLower(s)]; ok {
		return v, nil
	}
	n, err := strconv.ParseInt(s, 0, 64)
	if err != nil || n < 0 || n > 63 {
		return 0, usagef("--dscp: invalid value %q: allowed 0..63 or a name (af11..af43, cs0..cs7, ef, va, le)", s)
	}
	return int(n) << 2, nil
}

// test builds the measure.Test from the parsed flags and positional
// arguments; fs tells which flags were given. getenv supplies
// IPERF3_PASSWORD.
func (c *clientFlags) test(fs *pflag.FlagSet, args []string, getenv func(string) string) (measure.Test, error) {
	host := c.client
	switch {
	case len(args) > 1:
		return measure.Test{}, usagef("unexpected arguments %q: give one server HOST", args[1:])
	case len(args) == 1 && host != "" && args[0] != host:
		return measure.Test{}, usagef("two servers given (%q and -c %q): give one", args[0], host)
	case len(args) == 1:
		host = args[0]
	}
	if host == "" {
		return measure.Test{}, usagef("no server given: name the HOST to test")
	}
	ends := 0
	for _, f := range []string{"time", "bytes", "blockcount"} {
		if fs.Changed(f) {
			ends++
		}
	}
	if ends > 1 {
		return measure.Test{}, usagef("-t/--time, -n/--bytes and -k/--blockcount: give only one test end condition")
	}
	if fs.Changed("time") && c.duration <= 0 {
		return measure.Test{}, usagef("-t/--time: must be more than 0 (iperfmon runs no endless tests)")
	}
	if c.duration > maxTime {
		return measure.Test{}, usagef("-t/--time: %v is too long; allowed up to 24h (iperf3: test duration valid values are 0 to 86400 seconds)", c.duration)
	}
	if fs.Changed("bytes") && c.bytes <= 0 || fs.Changed("blockcount") && c.blocks <= 0 {
		return measure.Test{}, usagef("-n/--bytes and -k/--blockcount must be more than 0")
	}
	if c.omit > maxOmit {
		return measure.Test{}, usagef("-O/--omit: %v is too long; allowed up to 10m (iperf3: maximum = 600 seconds)", c.omit)
	}
	if c.reverse && c.bidir {
		return measure.Test{}, usagef("-R/--reverse and --bidir: choose one")
	}
	if c.ipv4 && c.ipv6 {
		return measure.Test{}, usagef("-4 and -6: choose one")
	}
	if fs.Changed("interval") && c.interval != 0 && (c.interval < 100*time.Millisecond || c.interval > time.Minute) {
		return measure.Test{}, usagef("-i/--interval: %v out of range; allowed 0 (no intervals) or 0.1 to 60 seconds", c.interval)
	}
	if fs.Changed("connect-timeout") && c.connectTimeout <= 0 {
		return measure.Test{}, usagef("--connect-timeout: must be more than 0")
	}
	if !c.udp && c.length > maxBlockSize {
		return measure.Test{}, usagef("-l/--length: block size too large (maximum = %d bytes); allowed up to 1M for TCP", maxBlockSize)
	}
	if c.window > maxWindow {
		return measure.Test{}, usagef("-w/--window: socket buffer size too large (maximum = %d bytes); allowed up to 512M", maxWindow)
	}
	if err := c.common.check(fs.Changed); err != nil {
		return measure.Test{}, err
	}
	ka, err := c.compat.keepAlive(fs.Changed)
	if err != nil {
		return measure.Test{}, err
	}
	bind, dev := c.bind, c.common.bindDev
	if h, d, ok := strings.Cut(bind, "%"); ok && d != "" && !strings.Contains(h, ":") {
		// iperf3's -B host%dev; an IPv6 zone (fe80::1%eth0) stays an address.
		bind = h
		if dev == "" {
			dev = d
		}
	}
	t := measure.Test{
		Host: host, Port: c.port,
		Protocol: measure.TCP,
		Reverse:  c.reverse, Bidir: c.bidir,
		Duration: c.duration, Bytes: c.bytes, Blocks: c.blocks, Omit: c.omit, Interval: c.interval,
		Parallel: c.parallel, Bitrate: c.bitrate, Length: int(c.length), Window: int(c.window),
		Congestion: c.congestion, MSS: c.mss, NoDelay: c.noDelay, TOS: c.tos, ZeroCopy: c.zerocopy,
		BindAddress: bind, ClientPort: c.cport, ConnectTimeout: c.connectTimeout,
		BindDevice: dev, DontFragment: c.compat.dontFragment, FQRate: c.compat.fqRate,
		SndTimeout: c.common.sndTimeout, ControlKeepAlive: ka, RepeatingPayload: c.compat.repeating,
		MPTCP: c.common.mptcp,
		Title: c.compat.title, ExtraData: c.compat.extraData,
		UDPCounters64: c.counters64, GetServerOutput: c.getServerOutput,
		Username: c.username, UsePKCS1Padding: c.pkcs1,
		Latency: c.latency,
	}
	if c.udp {
		t.Protocol = measure.UDP
	}
	if fs.Changed("interval") && c.interval == 0 {
		t.Interval = -1 // iperf3's -i 0: no interval reports
	}
	switch {
	case c.ipv4:
		t.Family = measure.FamilyIPv4
	case c.ipv6:
		t.Family = measure.FamilyIPv6
	}
	if c.dscp != "" {
		if fs.Changed("tos") {
			return measure.Test{}, usagef("-S/--tos and --dscp: choose one")
		}
		tos, err := parseDSCP(c.dscp)
		if err != nil {
			return measure.Test{}, err
		}
		t.TOS = tos
	}
	if c.username != "" || c.rsaPublicKey != "" {
		if c.username == "" || c.rsaPublicKey == "" {
			return measure.Test{}, usagef("--username and --rsa-public-key-path: authentication needs both")
		}
		pw := getenv("IPERF3_PASSWORD")
		if pw == "" {
			return measure.Test{}, usagef("--username %s: set the password in the environment variable IPERF3_PASSWORD", c.username)
		}
		key, err := os.ReadFile(c.rsaPublicKey)
		if err != nil {
			return measure.Test{}, usagef("--rsa-public-key-path: %v", err)
		}
		t.Password, t.RSAPublicKey = pw, key
	}
	t = t.WithDefaults()
	if err := t.Validate(); err != nil {
		return measure.Test{}, usagef("%v", err)
	}
	return t, nil
}

// validateFormat checks -f/--format.
func validateFormat(s string) (byte, error) {
	if s == "" {
		return 0, nil
	}
	if len(s) != 1 || !report.ValidFormat(s[0]) {
		return 0, usagef("-f/--format: invalid value %q: allowed one of k m g t (bits/s), K M G T (bytes/s), a A (adaptive)", s)
	}
	return s[0], nil
}

// hostPortString is host:port as a server tag or a message shows it.
func hostPortString(t measure.Test) string {
	if strings.Contains(t.Host, ":") {
		return fmt.Sprintf("[%s]:%d", t.Host, t.Port)
	}
	return fmt.Sprintf("%s:%d", t.Host, t.Port)
}
