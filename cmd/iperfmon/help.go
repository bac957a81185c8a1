package main

import (
	"fmt"

	"github.com/spf13/pflag"
)

// help prints a mode's usage text and its flags to stdout.
func (a *app) help(text string, fs *pflag.FlagSet) {
	fmt.Fprint(a.stdout, text)
	if fs != nil {
		fmt.Fprintf(a.stdout, "\nFlags:\n%s", fs.FlagUsagesWrapped(100))
	}
}

const usageTop = `iperfmon measures network paths with the iperf3 protocol.

Usage:
  iperfmon client HOST [flags]      one test, like iperf3 -c (alias: iperfmon -c HOST)
  iperfmon server [flags]           iperf3-compatible server (alias: iperfmon -s)
  iperfmon once [--config FILE]     run every configured test now, print line protocol
  iperfmon run  [--config FILE]     run tests on their schedules (Telegraf execd)
  iperfmon check HOST [flags]       SLA check with Nagios exit codes
  iperfmon exporter --config FILE   Prometheus exporter: /metrics and /probe
  iperfmon version                  print the version

Run 'iperfmon MODE --help' for the flags and examples of a mode.
Results go to stdout; logs go to stderr, prefixed E! W! I! D!.
Exit codes: 0 success, 1 a test failed, 2 bad usage or config
(check: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
`

const usageClient = `Usage: iperfmon client HOST [flags]
       iperfmon -c HOST [flags]

Runs one iperf3 test against HOST (any iperf3 3.9+ server, or iperfmon
server) with iperf3's flag names, and prints the result as iperf3's text,
iperf3's --json document, InfluxDB line protocol or Prometheus text.
Rates take iperf3's 1000-based suffixes (100M, 1G), sizes its 1024-based
ones (128K). The RSA password is read from IPERF3_PASSWORD, as iperf3 does.

Exit status: 0 success, 1 the test failed (-o influx/prometheus still print
the failure point, -J prints iperf3's error document), 2 bad usage.

Examples:
  iperfmon client iperf.example.net                 10 s TCP upload
  iperfmon -c iperf.example.net -R -t 5 -P 4        download, 4 streams
  iperfmon -c iperf.example.net -u -b 50M -l 1200   UDP at 50 Mbit/s
  iperfmon -c iperf.example.net --bidir -J          both ways, iperf3 JSON
  iperfmon -c iperf.example.net --latency           also idle and loaded RTT
  iperfmon client 192.0.2.7 -p 5202 -o influx      line protocol
  iperfmon client 192.0.2.7 -o prometheus > /var/lib/node_exporter/iperf3.prom
`

const usageServer = `Usage: iperfmon server [flags]
       iperfmon -s [flags]

An iperf3-compatible server for stock iperf3 clients and iperfmon. Unlike
iperf3 it serves several tests at once (--max-tests); further clients get
iperf3's "server is busy" answer at once. It limits duration, streams and
bitrate, drops idle peers, can allow only some networks and can require
RSA authentication. SIGINT or SIGTERM stops it cleanly.

As iperfmon -s (or with -o text) it prints iperf3's server report of every
test served to stdout, interval by interval; -J and --json-stream print
iperf3's JSON report instead. With -o influx it prints one line-protocol
point per direction of every test it served. iperfmon server alone prints
nothing on stdout.

Examples:
  iperfmon server
  iperfmon -s -p 5202 -1                       serve one test, then exit
  iperfmon server --max-tests 2 --max-duration 60s --max-bitrate 1G \
      --allow 192.0.2.0/24 --allow 2001:db8::/32
  iperfmon server --rsa-private-key-path key.pem --authorized-users-path users.csv
`

const usageOnce = `Usage: iperfmon once [--config FILE]

Runs every test of the [[inputs.iperf3]] tables in FILE now (schedules are
ignored; tests against the same server run one after another), prints
InfluxDB line protocol to stdout and exits: 0 if every test succeeded, 1 if
any failed (its point, with result and error, is still printed), 2 on a bad
config. Fits Telegraf's [[inputs.exec]] (data_format = "influx") and cron.

Without --config it starts an embedded server on 127.0.0.1 (a free port)
and runs a 2 s TCP test forward and reverse against it, so that a fresh
machine shows real output.

Examples:
  iperfmon once
  iperfmon once --config /etc/iperfmon/iperfmon.toml
`

const usageRun = `Usage: iperfmon run [--config FILE] [--agent NAME]

Runs the tests of the [[inputs.iperf3]] tables in FILE on their schedules
(cron specs, @every, splay; fleet and mesh tables in their exclusive
wall-clock slots, as the agent --agent names) until stopped, and prints line protocol to
stdout as each test finishes. Made for Telegraf's [[inputs.execd]] with
signal = "none": it exits cleanly on SIGTERM, SIGINT and when stdin is
closed (execd closes it when Telegraf stops). SIGHUP is ignored: restart
the process to reload the config. Logs go to stderr with execd's E! W! I!
D! prefixes.

Without --config it starts an embedded server on 127.0.0.1 and tests it
(TCP forward and reverse, 2 s) every 10 s.

Examples:
  iperfmon run --config /etc/iperfmon/iperfmon.toml
  iperfmon run --config fleet.toml --agent probe-07
  iperfmon run                          demo against an embedded server
`

const usageCheck = `Usage: iperfmon check HOST [client flags] --min-bitrate R [thresholds]

Runs one test against HOST (iperf3 client flags: -p -t -u -b -l -P -R
--bidir ...) and reports it the Nagios plugin way: one line
"IPERF3 STATUS - summary | perfdata" on stdout and exit
  0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.

  throughput below --min-bitrate             CRITICAL
  throughput below --warn-bitrate            WARNING
  loss above --max-loss (UDP)                CRITICAL
  jitter above --max-jitter (UDP)            CRITICAL
  retransmits above --max-retransmits (TCP)  WARNING
  RTT under load above --max-loaded-rtt      CRITICAL
  its rise above --max-rtt-increase          CRITICAL
  more than --max-drop below the baseline    WARNING
  unreachable, refused, timeout, server or
  protocol error                             CRITICAL (the path is down)
  server busy (after --busy-retries), access
  denied, auth failed                        UNKNOWN (no measurement was possible)
  bad usage                                  UNKNOWN

Throughput is the receiver-side bit rate of every direction tested.
--baseline-file keeps the last --baseline-keep results per server,
protocol and direction in a small JSON file; once it holds 3 results, a
run more than --max-drop below their median is a regression. Concurrent
checks on one file are serialised with a lock; a missing file starts a new
baseline, a corrupt one is replaced (with a W! line on stderr). An OK check
prints nothing on stderr.

The latency probe is on (--latency=false turns it off): ICMP echo to HOST,
5 probes before the test and 10/s during it; the median RTT under load and
its rise over the idle RTT are in the perfdata, and --max-loaded-rtt and
--max-rtt-increase judge them (UNKNOWN when no probe could run).

Examples:
  iperfmon check iperf.example.net --min-bitrate 500M --warn-bitrate 800M --max-retransmits 1000
  iperfmon check iperf.example.net -C cubic --min-bitrate 50M --max-loaded-rtt 50ms --max-rtt-increase 30ms
  iperfmon check iperf.example.net -u -b 50M --min-bitrate 45M --max-loss 1% --max-jitter 5ms
  iperfmon check iperf.example.net -R --min-bitrate 100M \
      --baseline-file /var/lib/iperfmon/wan.json --max-drop 20%
`

const usageVersion = `Usage: iperfmon version

Prints the version of iperfmon, the Go version and the platform. The
version is the module version for "go install ...@vX.Y.Z" builds, the
-X main.version value when set at build time, else "devel".

Examples:
  iperfmon version
  iperfmon --version
`

const usageExporter = `Usage: iperfmon exporter --config FILE [flags]

A Prometheus exporter. /metrics serves the last result of every scheduled
test of the [[inputs.iperf3]] tables in FILE (the scheduler of iperfmon
run), test counters and the process's own metrics. /probe?target=HOST[:PORT]
&module=ALIAS runs one test on demand with the options of the table whose
alias is ALIAS (without module: TCP forward, 5 s) and also takes
iperf3_exporter's port, reverse_mode, udp_mode, bitrate and period. A probe
ends before Prometheus's scrape timeout (less --timeout-offset); tests of
one server never overlap, scheduled or probed. Bad requests get 400 with
the reason, more than --max-concurrent-probes get 503. SIGHUP or POST
/-/reload re-reads FILE; a bad file keeps the old config. TLS and basic
auth come from --web.config.file (Prometheus's exporter-toolkit format).
See docs/prometheus.md.

Examples:
  iperfmon exporter --config /etc/iperfmon/iperfmon.toml
  iperfmon exporter --config /etc/iperfmon/iperfmon.toml --web.listen-address 127.0.0.1:9579 \
      --web.config.file /etc/iperfmon/web.yml --max-concurrent-probes 4
`
