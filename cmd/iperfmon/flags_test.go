package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/measure"
	"github.com/stretchr/testify/require"
)

// parseClient runs client's flag layer alone: the Test it would run, or
// the usage error.
func parseClient(args []string, env map[string]string) (measure.Test, error) {
	fs := newFlagSet("client")
	var cf clientFlags
	cf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return measure.Test{}, err
	}
	return cf.test(fs, fs.Args(), func(k string) string { return env[k] })
}

func TestClientFlagsGood(t *testing.T) {
	key := filepath.Join(t.TempDir(), "pub.pem")
	require.NoError(t, os.WriteFile(key, []byte("-----BEGIN PUBLIC KEY-----\n"), 0o600))
	def := measure.Test{Host: "h"}.WithDefaults()
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, got measure.Test)
	}{
		{"defaults", []string{"h"}, func(t *testing.T, got measure.Test) {
			require.Equal(t, def, got)
		}},
		{"-c host", []string{"-c", "h"}, func(t *testing.T, got measure.Test) { require.Equal(t, "h", got.Host) }},
		{"--client=host", []string{"--client=h"}, func(t *testing.T, got measure.Test) { require.Equal(t, "h", got.Host) }},
		{"-c and same positional", []string{"h", "-c", "h"}, func(t *testing.T, got measure.Test) { require.Equal(t, "h", got.Host) }},
		{"-t 1", []string{"h", "-t", "1"}, func(t *testing.T, got measure.Test) { require.Equal(t, time.Second, got.Duration) }},
		{"--time 1", []string{"h", "--time", "1"}, func(t *testing.T, got measure.Test) { require.Equal(t, time.Second, got.Duration) }},
		{"--time=1.5", []string{"h", "--time=1.5"}, func(t *testing.T, got measure.Test) {
			require.Equal(t, 1500*time.Millisecond, got.Duration)
		}},
		{"-t 2m", []string{"h", "-t", "2m"}, func(t *testing.T, got measure.Test) { require.Equal(t, 2*time.Minute, got.Duration) }},
		{"-P 4", []string{"h", "-P", "4"}, func(t *testing.T, got measure.Test) { require.Equal(t, 4, got.Parallel) }},
		{"-P4", []string{"h", "-P4"}, func(t *testing.T, got measure.Test) { require.Equal(t, 4, got.Parallel) }},
		{"--parallel=4", []string{"h", "--parallel=4"}, func(t *testing.T, got measure.Test) { require.Equal(t, 4, got.Parallel) }},
		{"-p 5202", []string{"h", "-p", "5202"}, func(t *testing.T, got measure.Test) { require.Equal(t, 5202, got.Port) }},
		{"-n 10M ends by bytes", []string{"h", "-n", "10M"}, func(t *testing.T, got measure.Test) {
			require.Equal(t, int64(10<<20), got.Bytes)
			require.Zero(t, got.Duration)
		}},
		{"-k 1K", []string{"h", "-k", "1K"}, func(t *testing.T, got measure.Test) { require.Equal(t, int64(1024), got.Blocks) }},
		{"udp defaults", []string{"h", "-u"}, func(t *testing.T, got measure.Test) {
			require.Equal(t, measure.UDP, got.Protocol)
			require.Equal(t, int64(measure.DefaultUDPBitrate), got.Bitrate)
			require.Equal(t, measure.DefaultUDPLength, got.Length)
		}},
		{"-b 100M is 1000-based", []string{"h", "-u", "-b", "100M"}, func(t *testing.T, got measure.Test) {
			require.Equal(t, int64(100_000_000), got.Bitrate)
		}},
		{"-b 0 is unlimited", []string{"h", "-u", "-b", "0"}, func(t *testing.T, got measure.Test) {
			require.Equal(t, measure.BitrateUnlimited, got.Bitrate)
		}},
		{"--bandwidth alias", []string{"h", "--bandwidth", "1G"}, func(t *testing.T, got measure.Test) {
			require.Equal(t, int64(1_000_000_000), got.Bitrate)
		}},
		{"-l 128K is 1024-based", []string{"h", "-l", "128K"}, func(t *testing.T, got measure.Test) { require.Equal(t, 131072, got.Length) }},
		{"-w 4M", []string{"h", "-w", "4M"}, func(t *testing.T, got measure.Test) { require.Equal(t, 4<<20, got.Window) }},
		{"-R", []string{"h", "-R"}, func(t *testing.T, got measure.Test) { require.True(t, got.Reverse) }},
		{"--bidir", []string{"h", "--bidir"}, func(t *testing.T, got measure.Test) { require.True(t, got.Bidir) }},
		{"-O 2", []string{"h", "-O", "2"}, func(t *testing.T, got measure.Test) { require.Equal(t, 2*time.Second, got.Omit) }},
		{"-C bbr", []string{"h", "-C", "bbr"}, func(t *testing.T, got measure.Test) { require.Equal(t, "bbr", got.Congestion) }},
		{"-S 0x10 hex", []string{"h", "-S", "0x10"}, func(t *testing.T, got measure.Test) { require.Equal(t, 16, got.TOS) }},
		{"--dscp ef", []string{"h", "--dscp", "ef"}, func(t *testing.T, got measure.Test) { require.Equal(t, 0xb8, got.TOS) }},
		{"--dscp 46", []string{"h", "--dscp", "46"}, func(t *testing.T, got measure.Test) { require.Equal(t, 46<<2, got.TOS) }},
		{"-4", []string{"h", "-4"}, func(t *testing.T, got measure.Test) { require.Equal(t, measure.FamilyIPv4, got.Family) }},
		{"-6", []string{"h", "-6"}, func(t *testing.T, got measure.Test) { require.Equal(t, measure.FamilyIPv6, got.Family) }},
		{"-B --cport", []string{"h", "-B", "127.0.0.1", "--cport", "40000"}, func(t *testing.T, got measure.Test) {
			require.Equal(t, "127.0.0.1", got.BindAddress)
			require.Equal(t, 40000, got.ClientPort)
		}},
		{"-i 0 disables intervals", []string{"h", "-i", "0"}, func(t *testing.T, got measure.Test) { require.Negative(t, got.Interval) }},
		{"-i 0.5", []string{"h", "-i", "0.5"}, func(t *testing.T, got measure.Test) { require.Equal(t, 500*time.Millisecond, got.Interval) }},
		{"-Z -N -M 1400", []string{"h", "-Z", "-N", "-M", "1400"}, func(t *testing.T, got measure.Test) {
			require.True(t, got.ZeroCopy)
			require.True(t, got.NoDelay)
			require.Equal(t, 1400, got.MSS)
		}},
		{"--connect-timeout 250 is ms", []string{"h", "--connect-timeout", "250"}, func(t *testing.T, got measure.Test) {
			require.Equal(t, 250*time.Millisecond, got.ConnectTimeout)
		}},
		{"--connect-timeout 2s", []string{"h", "--connect-timeout", "2s"}, func(t *testing.T, got measure.Test) {
			require.Equal(t, 2*time.Second, got.ConnectTimeout)
		}},
		{"--udp-counters-64bit --get-server-output", []string{"h", "-u", "--udp-counters-64bit", "--get-server-output"}, func(t *testing.T, got measure.Test) {
			require.True(t, got.UDPCounters64)
			require.True(t, got.GetServerOutput)
		}},
		{"auth", []string{"h", "--username", "alice", "--rsa-public-key-path", key, "--use-pkcs1-padding"}, func(t *testing.T, got measure.Test) {
			require.Equal(t, "alice", got.Username)
			require.Equal(t, "secret", got.Password)
			require.True(t, got.UsePKCS1Padding)
			require.Contains(t, string(got.RSAPublicKey), "PUBLIC KEY")
		}},
		{"ipv6 host", []string{"::1", "-p", "5202"}, func(t *testing.T, got measure.Test) {
			require.Equal(t, "::1", got.Host)
			require.Equal(t, "[::1]:5202", hostPortString(got))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseClient(tc.args, map[string]string{"IPERF3_PASSWORD": "secret"})
			require.NoError(t, err)
			tc.check(t, got)
		})
	}
}

// runApp runs the binary's main in-process.
func runApp(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code = a.main(ctx, args)
	return out.String(), errb.String(), code
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // exact stderr
	}{
		{"no mode", []string{"frobnicate"}, `E! iperfmon: unknown mode "frobnicate": allowed client, server, once, run, check, exporter, version, or iperf3's -c HOST / -s (see iperfmon --help)`},
		{"no host", []string{"client"}, `E! iperfmon client: no server given: name the HOST to test (see iperfmon client --help)`},
		{"two hosts", []string{"client", "a", "b"}, `E! iperfmon client: unexpected arguments ["b"]: give one server HOST (see iperfmon client --help)`},
		{"host and -c differ", []string{"client", "a", "-c", "b"}, `E! iperfmon client: two servers given ("a" and -c "b"): give one (see iperfmon client --help)`},
		{"unknown long", []string{"-c", "h", "--frob"}, `E! iperfmon client: unknown flag --frob (see iperfmon client --help)`},
		{"unknown short", []string{"-c", "h", "-x"}, `E! iperfmon client: unknown flag -x (see iperfmon client --help)`},
		{"unknown short in group", []string{"-c", "h", "-Rx"}, `E! iperfmon client: unknown flag -x (see iperfmon client --help)`},
		{"missing value", []string{"-c", "h", "-t"}, `E! iperfmon client: -t/--time needs a value (see iperfmon client --help)`},
		{"bad duration", []string{"-c", "h", "-t", "ten"}, `E! iperfmon client: -t/--time: invalid duration "ten": allowed a duration like "10s" or "1m30s", or a number of seconds (see iperfmon client --help)`},
		{"zero duration", []string{"-c", "h", "-t", "0"}, `E! iperfmon client: -t/--time: must be more than 0 (iperfmon runs no endless tests) (see iperfmon client --help)`},
		{"bad rate", []string{"-c", "h", "-b", "10X"}, `E! iperfmon client: -b/--bitrate: invalid rate "10X": allowed bits per second with an optional 1000-based suffix k, m, g or t, e.g. "100M", or "0" for unlimited (see iperfmon client --help)`},
		{"burst rate", []string{"-c", "h", "-b", "10M/100"}, `E! iperfmon client: -b/--bitrate: invalid rate "10M/100": the burst suffix /100 is not supported (iperfmon paces every stream evenly); give the rate alone, e.g. "100M" (see iperfmon client --help)`},
		{"burst range", []string{"-c", "h", "-b", "10M/2000"}, `E! iperfmon client: -b/--bitrate: invalid burst count "2000" in "10M/2000" (iperf3: maximum = 1000) (see iperfmon client --help)`},
		{"mss range", []string{"-c", "h", "-M", "40000"}, `E! iperfmon client: -M/--set-mss: invalid number "40000": allowed an integer from 0 to 32767 (see iperfmon client --help)`},
		{"tcp length range", []string{"-c", "h", "-l", "2M"}, `E! iperfmon client: -l/--length: block size too large (maximum = 1048576 bytes); allowed up to 1M for TCP (see iperfmon client --help)`},
		{"window range", []string{"-c", "h", "-w", "600M"}, `E! iperfmon client: -w/--window: socket buffer size too large (maximum = 536870912 bytes); allowed up to 512M (see iperfmon client --help)`},
		{"time range", []string{"-c", "h", "-t", "90000"}, `E! iperfmon client: -t/--time: 25h0m0s is too long; allowed up to 24h (iperf3: test duration valid values are 0 to 86400 seconds) (see iperfmon client --help)`},
		{"omit range", []string{"-c", "h", "-O", "700"}, `E! iperfmon client: -O/--omit: 11m40s is too long; allowed up to 10m (iperf3: maximum = 600 seconds) (see iperfmon client --help)`},
		{"udp length small", []string{"-c", "h", "-u", "-l", "10"}, `E! iperfmon client: length: 10 too small for UDP; allowed: 16..65507 (see iperfmon client --help)`},
		{"cport range", []string{"-c", "h", "--cport", "70000"}, `E! iperfmon client: --cport: invalid number "70000": allowed an integer from 1 to 65535 (see iperfmon client --help)`},
		{"bad size", []string{"-c", "h", "-l", "1Q"}, `E! iperfmon client: -l/--length: invalid size "1Q": allowed a byte count with an optional 1024-based suffix K, M, G or T, e.g. "128K" (see iperfmon client --help)`},
		{"parallel 0", []string{"-c", "h", "-P", "0"}, `E! iperfmon client: -P/--parallel: invalid number "0": allowed an integer from 1 to 128 (see iperfmon client --help)`},
		{"parallel 129", []string{"-c", "h", "--parallel=129"}, `E! iperfmon client: -P/--parallel: invalid number "129": allowed an integer from 1 to 128 (see iperfmon client --help)`},
		{"port 0", []string{"-c", "h", "-p", "0"}, `E! iperfmon client: -p/--port: invalid number "0": allowed an integer from 1 to 65535 (see iperfmon client --help)`},
		{"two end conditions", []string{"-c", "h", "-t", "1", "-n", "1M"}, `E! iperfmon client: -t/--time, -n/--bytes and -k/--blockcount: give only one test end condition (see iperfmon client --help)`},
		{"reverse and bidir", []string{"-c", "h", "-R", "--bidir"}, `E! iperfmon client: -R/--reverse and --bidir: choose one (see iperfmon client --help)`},
		{"-4 and -6", []string{"-c", "h", "-4", "-6"}, `E! iperfmon client: -4 and -6: choose one (see iperfmon client --help)`},
		{"bad interval", []string{"-c", "h", "-i", "0.01"}, `E! iperfmon client: -i/--interval: 10ms out of range; allowed 0 (no intervals) or 0.1 to 60 seconds (see iperfmon client --help)`},
		{"tos range", []string{"-c", "h", "-S", "256"}, `E! iperfmon client: -S/--tos: invalid number "256": allowed an integer from 0 to 255 (see iperfmon client --help)`},
		{"bad dscp", []string{"-c", "h", "--dscp", "gold"}, `E! iperfmon client: --dscp: invalid value "gold": allowed 0..63 or a name (af11..af43, cs0..cs7, ef, va, le) (see iperfmon client --help)`},
		{"tos and dscp", []string{"-c", "h", "-S", "16", "--dscp", "ef"}, `E! iperfmon client: -S/--tos and --dscp: choose one (see iperfmon client --help)`},
		{"udp length", []string{"-c", "h", "-u", "-l", "70000"}, `E! iperfmon client: length: 70000 too large for UDP; allowed: 16..65507 (see iperfmon client --help)`},
		{"bad output", []string{"-c", "h", "-o", "xml"}, `E! iperfmon client: -o/--output: invalid value "xml": allowed text, json, influx, prometheus (see iperfmon client --help)`},
		{"-J with -o influx", []string{"-c", "h", "-J", "-o", "influx"}, `E! iperfmon client: -J/--json and -o/--output influx: choose one (see iperfmon client --help)`},
		{"bad -f", []string{"-c", "h", "-f", "x"}, `E! iperfmon client: -f/--format: invalid value "x": allowed one of k m g t (bits/s), K M G T (bytes/s), a A (adaptive) (see iperfmon client --help)`},
		{"username without key", []string{"-c", "h", "--username", "u"}, `E! iperfmon client: --username and --rsa-public-key-path: authentication needs both (see iperfmon client --help)`},
		{"username without password", []string{"-c", "h", "--username", "u", "--rsa-public-key-path", "/nonexistent"}, `E! iperfmon client: --username u: set the password in the environment variable IPERF3_PASSWORD (see iperfmon client --help)`},
		{"version args", []string{"version", "x"}, `E! iperfmon version: unexpected arguments ["x"] (see iperfmon version --help)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runApp(t, nil, tc.args...)
			require.Equal(t, exitUsage, code)
			require.Equal(t, tc.want+"\n", stderr)
			require.Empty(t, stdout, "usage errors print nothing on stdout")
		})
	}
}

func TestCheckUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // exact stdout
	}{
		{"no threshold", []string{"h"}, "no threshold given: use --min-bitrate R and/or --warn-bitrate, --max-loss, --max-jitter, --max-retransmits, --max-loaded-rtt, --max-rtt-increase, --baseline-file"},
		{"rtt without probe", []string{"h", "--max-loaded-rtt", "50ms", "--latency=false"}, "--max-loaded-rtt and --max-rtt-increase need the latency probe: remove --latency=false"},
		{"rtt zero", []string{"h", "--max-rtt-increase", "0"}, "--max-loaded-rtt and --max-rtt-increase: must be more than 0"},
		{"no host", []string{"--min-bitrate", "1M"}, "no server given: name the HOST to test"},
		{"bad rate", []string{"h", "--min-bitrate", "fast"}, `--min-bitrate: invalid rate "fast": allowed bits per second with an optional 1000-based suffix k, m, g or t, e.g. "100M", or "0" for unlimited`},
		{"zero rate", []string{"h", "--min-bitrate", "0"}, "--min-bitrate: must be more than 0"},
		{"warn below min", []string{"h", "--min-bitrate", "500M", "--warn-bitrate", "100M"}, "--warn-bitrate 100 Mbits/sec is below --min-bitrate 500 Mbits/sec: the warning level must be the higher one"},
		{"loss on tcp", []string{"h", "--max-loss", "1%"}, "--max-loss and --max-jitter apply to UDP tests: add -u"},
		{"jitter on tcp", []string{"h", "--max-jitter", "5ms"}, "--max-loss and --max-jitter apply to UDP tests: add -u"},
		{"retransmits on udp", []string{"h", "-u", "--max-retransmits", "5"}, "--max-retransmits applies to TCP tests: remove -u"},
		{"bad percent", []string{"h", "-u", "--max-loss", "150%"}, `--max-loss: invalid percentage "150%": allowed a number from 0 to 100, optionally with %, e.g. "20%"`},
		{"drop without file", []string{"h", "--min-bitrate", "1M", "--max-drop", "20%"}, "--max-drop and --baseline-keep need --baseline-file"},
		{"drop 100", []string{"h", "--baseline-file", "f", "--max-drop", "100"}, "--max-drop: 100% out of range; allowed more than 0% and less than 100%"},
		{"client flag error", []string{"h", "--min-bitrate", "1M", "-P", "x"}, `-P/--parallel: invalid number "x": allowed an integer from 1 to 128`},
		{"client output option", []string{"h", "--min-bitrate", "1M", "--json-stream"}, "--json-stream, -T and --timestamps shape client output: check prints one status line"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runApp(t, nil, append([]string{"check"}, tc.args...)...)
			require.Equal(t, nagiosUnknown, code)
			require.Equal(t, "IPERF3 UNKNOWN - bad usage: "+tc.want+" (see iperfmon check --help)\n", stdout)
			require.Empty(t, stderr)
		})
	}
}

func TestHelp(t *testing.T) {
	for _, mode := range []string{"client", "server", "once", "run", "check", "exporter", "version"} {
		t.Run(mode, func(t *testing.T) {
			stdout, stderr, code := runApp(t, nil, mode, "--help")
			require.Equal(t, exitOK, code)
			require.Empty(t, stderr)
			require.Contains(t, stdout, "Usage: iperfmon "+mode)
			require.Contains(t, stdout, "Examples:")
			require.NotContains(t, stdout, "(default 0s)", "a zero duration is no default worth printing")
			require.NotRegexp(t, `\(default [^)]*\)\s*\(default`, stdout, "one default per flag")
		})
	}
	stdout, _, code := runApp(t, nil, "--help")
	require.Equal(t, exitOK, code)
	require.Contains(t, stdout, "iperfmon check HOST")
	// Every common iperf3 flag is documented in client --help.
	stdout, _, _ = runApp(t, nil, "client", "--help")
	for _, f := range []string{"-p, --port", "-t, --time", "-n, --bytes", "-k, --blockcount", "-u, --udp", "-b, --bitrate",
		"-l, --length", "-P, --parallel", "-R, --reverse", "--bidir", "-O, --omit", "-w, --window", "-C, --congestion",
		"-S, --tos", "--dscp", "-4, --version4", "-6, --version6", "-B, --bind", "--cport", "-i, --interval",
		"-Z, --zerocopy", "--connect-timeout", "--udp-counters-64bit", "--get-server-output", "--username",
		"--rsa-public-key-path", "--use-pkcs1-padding", "-J, --json", "-o, --output", "-N, --no-delay", "-M, --set-mss"} {
		require.Contains(t, stdout, f)
	}
}

// server --help documents every server flag.
func TestServerHelpFlags(t *testing.T) {
	stdout, _, code := runApp(t, nil, "server", "--help")
	require.Equal(t, exitOK, code)
	for _, f := range []string{"-s, --server", "-p, --port", "-B, --bind", "-1, --one-off", "--max-tests", "--max-duration",
		"--max-parallel", "--max-bitrate", "--max-pending-per-source", "--idle-timeout", "--allow", "--rsa-private-key-path", "--authorized-users-path",
		"--time-skew-threshold", "-o, --output", "-d, --debug", "SIGINT or SIGTERM"} {
		require.Contains(t, stdout, f)
	}
	// iperf3's -s spelling reaches the same help.
	alias, _, code := runApp(t, nil, "-s", "--help")
	require.Equal(t, exitOK, code)
	require.Equal(t, stdout, alias)
}

func TestServerUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // exact stderr
	}{
		{"max-tests 0", []string{"--max-tests", "0"}, `--max-tests: invalid number "0": allowed an integer from 1 to 1024`},
		{"max-parallel 129", []string{"--max-parallel", "129"}, `--max-parallel: invalid number "129": allowed an integer from 1 to 128`},
		{"max-pending-per-source 0", []string{"--max-pending-per-source", "0"}, `--max-pending-per-source: invalid number "0": allowed an integer from 1 to 256`},
		{"bad allow", []string{"--allow", "nonsense"}, `--allow: invalid network "nonsense": allowed a CIDR like 192.0.2.0/24 or 2001:db8::/32, or a single address`},
		{"key without users", []string{"--rsa-private-key-path", "/x"}, `--rsa-private-key-path and --authorized-users-path: authentication needs both`},
		{"missing key file", []string{"--rsa-private-key-path", "/nonexistent", "--authorized-users-path", "/nonexistent"}, `--rsa-private-key-path: open /nonexistent: no such file or directory`},
		{"arguments", []string{"extra"}, `unexpected arguments ["extra"]: the server takes only flags`},
		{"bad output", []string{"-o", "prometheus"}, `-o/--output: invalid value "prometheus": allowed none, text, influx`},
		{"text and json", []string{"-o", "text", "-J"}, `-o text and -J/--json-stream: choose one`},
		{"zero idle timeout", []string{"--idle-timeout", "0"}, `--idle-timeout: must be more than 0`},
		{"bad port", []string{"-p", "70000"}, `-p/--port: invalid number "70000": allowed an integer from 1 to 65535`},
		{"bad bitrate", []string{"--max-bitrate", "1Q"}, `--max-bitrate: invalid rate "1Q": allowed bits per second with an optional 1000-based suffix k, m, g or t, e.g. "100M", or "0" for unlimited`},
		{"unknown flag", []string{"--frob"}, `unknown flag --frob`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runApp(t, nil, append([]string{"server"}, tc.args...)...)
			require.Equal(t, exitUsage, code)
			require.Equal(t, "E! iperfmon server: "+tc.want+" (see iperfmon server --help)\n", stderr)
			require.Empty(t, stdout)
		})
	}
}

func TestHasFlag(t *testing.T) {
	require.True(t, hasFlag([]string{"-c", "h"}, "c", "client", true))
	require.True(t, hasFlag([]string{"-p", "1", "-ch"}, "c", "client", true))
	require.True(t, hasFlag([]string{"--client=h"}, "c", "client", true))
	require.False(t, hasFlag([]string{"--cport", "1"}, "c", "client", true))
	require.True(t, hasFlag([]string{"-p", "5202", "-s"}, "s", "server", false))
	require.False(t, hasFlag([]string{"--", "-s"}, "s", "server", false))
}

func TestVersion(t *testing.T) {
	stdout, _, code := runApp(t, nil, "version")
	require.Equal(t, exitOK, code)
	require.Regexp(t, `^iperfmon \S+ \(go1\.\S+, \w+/\w+\)\n$`, stdout)
}
