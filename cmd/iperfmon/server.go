package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/influxdata/telegraf"
	"github.com/iperfmon/iperfmon/measure"
	"github.com/iperfmon/iperfmon/plugins/inputs/iperf3"
	"github.com/spf13/pflag"
)

// serverFlags are the server's options.
type serverFlags struct {
	serverAlias, oneOff, debug, help bool
	port                             int
	bind                             string
	maxTests, maxParallel            int
	maxPendingPerSource              int
	maxDuration, idle, skew          time.Duration
	maxBitrate                       int64
	allow                            []string
	keyPath, usersPath               string
	output                           string
	iperf3                           serverCompat
	common                           commonCompat
}

// serverFlagSet declares the server's flags with their defaults.
func serverFlagSet() (*pflag.FlagSet, *serverFlags) {
	fs := newFlagSet("server")
	sf := &serverFlags{port: measure.DefaultPort, maxTests: measure.DefaultMaxTests, output: "none"}
	fs.BoolVarP(&sf.serverAlias, "server", "s", false, "server mode (accepted for iperf3 compatibility)")
	fs.VarP(intValue{&sf.port, 1, 65535, 10}, "port", "p", "port to listen on (TCP and UDP)")
	fs.StringVarP(&sf.bind, "bind", "B", "", "address to listen on (default: every address, IPv4 and IPv6)")
	fs.BoolVarP(&sf.oneOff, "one-off", "1", false, "serve one test, then exit")
	fs.Var(intValue{&sf.maxTests, 1, 1024, 10}, "max-tests", "tests served at once; more clients get iperf3's busy answer")
	fs.Var(durationValue{&sf.maxDuration, time.Second}, "max-duration", "longest test (-t plus -O) accepted; 0 for no limit (default 1h)")
	fs.Var(intValue{&sf.maxParallel, 1, measure.MaxParallel, 10}, "max-parallel", "most streams (-P) a test may use (default 128)")
	fs.Var(rateValue{&sf.maxBitrate}, "max-bitrate", "highest total bitrate of a test, e.g. 1G (default unlimited)")
	fs.Var(intValue{&sf.maxPendingPerSource, 1, 256, 10}, "max-pending-per-source", "connections from one address (IPv6: one /64) that may wait for their cookie; beyond it the oldest is closed (default 16)")
	fs.Var(durationValue{&sf.idle, time.Second}, "idle-timeout", "drop a client silent for this long (default 10s)")
	fs.StringSliceVar(&sf.allow, "allow", nil, "only clients in this network (CIDR or address; repeat or separate with commas)")
	fs.StringVar(&sf.keyPath, "rsa-private-key-path", "", "RSA private key (PEM) for authentication")
	fs.StringVar(&sf.usersPath, "authorized-users-path", "", "iperf3 users file (user,sha256 lines) for authentication")
	fs.Var(durationValue{&sf.skew, time.Second}, "time-skew-threshold", "how far an auth token's clock may be off (default 10s)")
	fs.VarP(choiceValue{&sf.output, []string{"none", outText, outInflux}}, "output", "o", "text: iperf3's server report, live (what -s prints unless told otherwise); influx: one line-protocol point per direction of every test served; none: nothing (iperfmon server)")
	registerDebug(fs, &sf.debug)
	fs.BoolVarP(&sf.help, "help", "h", false, "show this help")
	sf.iperf3.register(fs)
	sf.common.register(fs, true)
	return fs, sf
}

func (a *app) server(ctx context.Context, args []string) int {
	fs, sf := serverFlagSet()
	if err := parseFlags(fs, args); err != nil {
		a.usageError("server", err)
		return exitUsage
	}
	if sf.help {
		a.help(usageServer, fs)
		return exitOK
	}
	srv, err := sf.build(fs.Changed, fs.Args())
	if err == nil {
		err = sf.common.check(fs.Changed)
	}
	if err == nil {
		err = sf.resolveOutput(fs.Changed)
	}
	var ready io.WriteCloser // -D's child: report start-up to the parent
	if err == nil && sf.common.daemon {
		if ready = a.daemonChild(); ready == nil {
			return a.daemonize(args) // flags are good: the child serves
		}
	}
	defer daemonReport(&ready, fmt.Errorf("the server stopped before it listened"))
	var done func()
	if err == nil {
		done, err = a.applyCommon(&sf.common, sf.output == outText, "")
	}
	if err != nil {
		daemonReport(&ready, err)
		a.usageError("server", err)
		return exitUsage
	}
	defer done()
	log := newLogger(a.stderr, sf.debug)
	srv.Logger = log.slogInfo()
	var lw *lineWriter
	if sf.output == outInflux {
		if lw, err = newLineWriter(a.stdout); err != nil {
			log.Errorf("%v", err)
			return exitFail
		}
	}
	rep := sf.reporter(a.stdout, log)
	rep.attach(srv)
	srv.OnResult = func(st measure.ServedTest) {
		log.Debugf("test from %s: result=%s%s", st.Client, st.Code, servedSummary(st))
		rep.result(st)
		if lw != nil {
			if err := lw.write(servedPoints(st)...); err != nil {
				log.Errorf("%v", err)
			}
		}
	}
	ln, err := sf.listen(ctx)
	daemonReport(&ready, err)
	if err != nil {
		log.Errorf("iperfmon server: %v", err)
		return exitFail
	}
	log.Infof("listening on %s (TCP and UDP), up to %d test(s) at once", ln.Addr(), sf.maxTests)
	rep.banner()
	err = srv.Serve(ctx, ln)
	switch {
	case err == nil: // -1: one test served
		return exitOK
	case errors.Is(err, measure.ErrServerClosed) && ctx.Err() != nil:
		log.Infof("signal received, server stopped")
		return exitOK
	}
	log.Errorf("iperfmon server: %v", err)
	return exitFail
}

// build turns the flags into a measure.Server; errors are usage errors.
func (sf *serverFlags) build(changed func(string) bool, args []string) (*measure.Server, error) {
	if len(args) > 0 {
		return nil, usagef("unexpected arguments %q: the server takes only flags", args)
	}
	srv := &measure.Server{
		MaxTests: sf.maxTests, MaxParallel: sf.maxParallel, MaxDuration: sf.maxDuration,
		MaxPendingPerSource: sf.maxPendingPerSource,
		MaxBitrate:          max(sf.maxBitrate, 0), IdleTimeout: sf.idle, TimeSkewThreshold: sf.skew,
		OneOff: sf.oneOff,
	}
	if changed("max-duration") && sf.maxDuration == 0 {
		srv.MaxDuration = -1 // no limit
	}
	if err := sf.iperf3.apply(changed, sf, srv); err != nil {
		return nil, err
	}
	if changed("idle-timeout") && sf.idle <= 0 {
		return nil, usagef("--idle-timeout: must be more than 0")
	}
	if changed("time-skew-threshold") && sf.skew <= 0 {
		return nil, usagef("--time-skew-threshold: must be more than 0")
	}
	for _, s := range sf.allow {
		p, err := parseAllow(s)
		if err != nil {
			return nil, err
		}
		srv.Allow = append(srv.Allow, p)
	}
	if (sf.keyPath == "") != (sf.usersPath == "") {
		return nil, usagef("--rsa-private-key-path and --authorized-users-path: authentication needs both")
	}
	if sf.keyPath != "" {
		key, err := os.ReadFile(sf.keyPath)
		if err != nil {
			return nil, usagef("--rsa-private-key-path: %v", err)
		}
		if _, err := measure.ParseRSAPrivateKey(key); err != nil {
			return nil, usagef("--rsa-private-key-path %s: %v", sf.keyPath, err)
		}
		users, err := measure.LoadAuthorizedUsers(sf.usersPath)
		if err != nil {
			return nil, usagef("--authorized-users-path: %v", err)
		}
		srv.RSAPrivateKey, srv.AuthorizedUsers = key, users
	}
	return srv, nil
}

// parseAllow reads a CIDR or a single address.
func parseAllow(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.Prefix{}, usagef("--allow: invalid network %q: allowed a CIDR like 192.0.2.0/24 or 2001:db8::/32, or a single address", s)
}

// servedSummary is the throughput part of a served test's log line.
func servedSummary(st measure.ServedTest) string {
	if st.Result == nil {
		if st.Err != nil {
			return ": " + st.Err.Error()
		}
		return ""
	}
	var b strings.Builder
	for _, d := range st.Result.Directions {
		b.WriteString(", " + string(d.Direction) + " " + rateString(d.Sum.ReceiverBitsPerSecond))
	}
	return b.String()
}

// servedPoints renders a served test with the plugin's metric function, as
// the client would have recorded it (server and port are this server as
// the client reached it), plus a client tag.
func servedPoints(st measure.ServedTest) []telegraf.Metric {
	t := st.Test
	t.Host, t.Port = st.Local.Addr().Unmap().String(), int(st.Local.Port())
	ms := iperf3.Metrics(t.Host, t, st.Result, st.Err, st.Start, false)
	for _, m := range ms {
		m.AddTag("client", st.Client.Addr().Unmap().String())
	}
	return ms
}
