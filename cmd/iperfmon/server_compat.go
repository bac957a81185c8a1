package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iperfmon/iperfmon/measure"
	"github.com/iperfmon/iperfmon/measure/report"
	"github.com/spf13/pflag"
)

// serverCompat are iperf3's server options that iperfmon's own server
// flags do not already spell the same way. docs/cli.md maps them.
type serverCompat struct {
	json         bool
	interval     time.Duration
	format       string
	ipv4, ipv6   bool
	maxDuration  time.Duration // --server-max-duration
	bitrateLimit int64         // --server-bitrate-limit RATE
	averaging    time.Duration // ... /SECONDS
	pkcs1        bool
	cntlKA       string
}

func (c *serverCompat) register(fs *pflag.FlagSet) {
	fs.BoolVarP(&c.json, "json", "J", false, "print iperf3's JSON report of every test served on stdout")
	fs.VarP(durationValue{&c.interval, time.Second}, "interval", "i", "seconds between the server's interval reports (text, -J, --json-stream); 0 turns them off (default 1)")
	fs.StringVarP(&c.format, "format", "f", "", "text report units: k m g t (bits/s), K M G T (bytes/s) (default adaptive)")
	fs.BoolVarP(&c.ipv4, "version4", "4", false, "listen on IPv4 only")
	fs.BoolVarP(&c.ipv6, "version6", "6", false, "listen on IPv6 only")
	fs.Var(durationValue{&c.maxDuration, time.Second}, "server-max-duration", "iperf3's name for --max-duration: longest test accepted, seconds")
	fs.Var(bitrateLimitValue{&c.bitrateLimit, &c.averaging}, "server-bitrate-limit", "iperf3's name for --max-bitrate: RATE[/SECONDS]")
	fs.BoolVar(&c.pkcs1, "use-pkcs1-padding", false, "accepted: the server decrypts both OAEP and PKCS#1 v1.5 tokens")
	fs.StringVar(&c.cntlKA, "cntl-ka", "", "accepted: control connections always use TCP keepalive")
	fs.Lookup("cntl-ka").NoOptDefVal = "/"
	_ = fs.MarkHidden("cntl-ka")
}

// bitrateLimitValue is --server-bitrate-limit RATE[/SECONDS].
type bitrateLimitValue struct {
	rate *int64
	avg  *time.Duration
}

func (v bitrateLimitValue) Set(s string) error {
	r, secs, slash := strings.Cut(s, "/")
	if err := (rateValue{v.rate}).Set(r); err != nil {
		return err
	}
	if slash {
		n, err := strconv.Atoi(secs)
		if err != nil || n < 1 || n > 3600 {
			return fmt.Errorf("invalid averaging interval %q in %q: allowed 1 to 3600 seconds", secs, s)
		}
		*v.avg = time.Duration(n) * time.Second
	}
	return nil
}
func (v bitrateLimitValue) String() string { return strconv.FormatInt(*v.rate, 10) }
func (v bitrateLimitValue) Type() string   { return "rate" }

// apply maps iperf3's spellings onto the server's own limits.
func (c *serverCompat) apply(changed func(string) bool, sf *serverFlags, srv *measure.Server) error {
	if changed("server-max-duration") {
		if changed("max-duration") {
			return usagef("--server-max-duration and --max-duration are the same limit: give one")
		}
		if c.maxDuration <= 0 {
			return usagef("--server-max-duration: must be more than 0")
		}
		srv.MaxDuration = c.maxDuration
	}
	if changed("server-bitrate-limit") {
		if changed("max-bitrate") {
			return usagef("--server-bitrate-limit and --max-bitrate are the same limit: give one")
		}
		srv.MaxBitrate = max(c.bitrateLimit, 0)
		srv.MaxBitrateAveraging = c.averaging
		if c.averaging == 0 {
			srv.MaxBitrateAveraging = 5 * time.Second // iperf3's default
		}
	}
	if changed("rcv-timeout") {
		if changed("idle-timeout") {
			return usagef("--rcv-timeout and --idle-timeout: give one (the server has one timeout for a silent client)")
		}
		srv.IdleTimeout = sf.common.rcvTimeout
	}
	if c.ipv4 && c.ipv6 {
		return usagef("-4 and -6: choose one")
	}
	if sf.bind != "" && (c.ipv4 || c.ipv6) {
		ip := net.ParseIP(sf.bind)
		if ip != nil && (ip.To4() != nil) != c.ipv4 {
			return usagef("-B %s and -%s: the address is of the other family", sf.bind, map[bool]string{true: "4", false: "6"}[c.ipv4])
		}
	}
	if sf.common.bindDev != "" {
		return usagef("--bind-dev: not supported by the server: give the interface's address with -B")
	}
	if c.format != "" {
		if _, err := validateFormat(c.format); err != nil {
			return err
		}
	}
	if changed("interval") && c.interval != 0 && (c.interval < 100*time.Millisecond || c.interval > time.Minute) {
		return usagef("-i/--interval: %v out of range; allowed 0 or 0.1 to 60 seconds", c.interval)
	}
	if changed("interval") {
		srv.Interval = c.interval
		if c.interval == 0 {
			srv.Interval = -1 // no interval reports
		}
	}
	return nil
}

// listen opens the server's listener: -B, or every address of the family
// -4/-6 names, or both families.
func (sf *serverFlags) listen(ctx context.Context) (net.Listener, error) {
	port := strconv.Itoa(sf.port)
	listen := measure.Listen
	if sf.common.mptcp {
		listen = measure.ListenMPTCP // -m: checked with the flags
	}
	switch {
	case sf.bind == "" && sf.iperf3.ipv4:
		return listen(ctx, net.JoinHostPort("0.0.0.0", port))
	case sf.bind == "" && sf.iperf3.ipv6:
		var lc net.ListenConfig
		lc.SetMultipathTCP(sf.common.mptcp)
		return lc.Listen(ctx, "tcp6", net.JoinHostPort("::", port)) // IPv6 only
	}
	return listen(ctx, net.JoinHostPort(sf.bind, port))
}

// resolveOutput settles what stdout carries: iperf3's spelling (-s)
// prints iperf3's text report unless -o, -J or --json-stream says
// otherwise; `iperfmon server` prints nothing by default.
func (sf *serverFlags) resolveOutput(changed func(string) bool) error {
	jsonOut := sf.iperf3.json || sf.common.jsonStream
	switch {
	case changed("output") && sf.output == outText && jsonOut:
		return usagef("-o text and -J/--json-stream: choose one")
	case !changed("output") && sf.serverAlias && !jsonOut:
		sf.output = outText
	}
	return nil
}

// serverReport prints iperf3's report of every test served on stdout:
// text (-o text, the default of -s) and --json-stream live, interval by
// interval, -J as one document per test at its end. Tests served at once
// print their lines as they come; each write is whole lines of one test.
type serverReport struct {
	mu     sync.Mutex
	w      io.Writer
	log    *logger
	output string // outText, outJSON, outJSONStream, outJSONStreamFull or "" (none)
	opt    report.Options
	port   int
	oneOff bool
	tests  int                    // tests announced by the banner
	live   map[string]*liveOutput // by cookie, while the test runs
}

func (sf *serverFlags) reporter(w io.Writer, log *logger) *serverReport {
	r := &serverReport{w: w, log: log, port: sf.port, oneOff: sf.oneOff, live: map[string]*liveOutput{}}
	unit, _ := validateFormat(sf.iperf3.format) // checked with the flags
	r.opt = report.Options{Version: "iperfmon " + versionString(), Server: true, Format: unit}
	switch {
	case sf.common.jsonStreamFull:
		r.output = outJSONStreamFull
	case sf.common.jsonStream:
		r.output = outJSONStream
	case sf.iperf3.json:
		r.output = outJSON
	case sf.output == outText:
		r.output = outText
	}
	return r
}

// attach sets the server's live hooks for the text and stream reports.
func (r *serverReport) attach(srv *measure.Server) {
	if newLiveOutput(nil, r.output, r.opt) == nil {
		return // -J or nothing: the report comes at the end
	}
	srv.OnTestStart = func(st measure.ServedTest) {
		r.mu.Lock()
		defer r.mu.Unlock()
		l := newLiveOutput(r.w, r.output, r.opt)
		r.live[st.Cookie] = l
		l.start(st.Result)
	}
	srv.OnInterval = func(st measure.ServedTest) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if l := r.live[st.Cookie]; l != nil {
			l.interval(st.Result)
		}
	}
}

// banner is iperf3's "Server listening" box, before each test (text).
func (r *serverReport) banner() {
	if r.output != outText {
		return
	}
	r.tests++
	line := "-----------------------------------------------------------\n"
	if _, err := fmt.Fprintf(r.w, "%sServer listening on %d (test #%d)\n%s", line, r.port, r.tests, line); err != nil {
		r.log.Errorf("%v", err)
	}
}

// result prints the end of a test's report (all of it for -J).
func (r *serverReport) result(st measure.ServedTest) {
	if r.output == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.live[st.Cookie]
	delete(r.live, st.Cookie)
	if r.output == outText {
		if l == nil {
			return // refused or failed before its data phase: logged on stderr
		}
		if _, err := l.finish(st.Result, nil); err != nil {
			r.log.Errorf("%v", err)
		}
		if !r.oneOff {
			r.banner()
		}
		return
	}
	opt := r.opt
	opt.Err = st.Err
	b, err := report.JSONWith(st.Result, opt)
	if err != nil {
		r.log.Errorf("render json: %v", err)
		return
	}
	done, err := l.finish(st.Result, b)
	switch {
	case done:
	case r.output == outJSON:
		_, err = r.w.Write(b)
	default:
		err = jsonStream(r.w, b, r.output == outJSONStreamFull)
	}
	if err != nil {
		r.log.Errorf("%v", err)
	}
}
