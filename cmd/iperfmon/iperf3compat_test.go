package main

import (
	"bytes"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/measure"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"
)

// The options of iperf3 3.13-3.22 reach the Test with iperf3's meaning.
func TestClientCompatFlags(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, got measure.Test)
	}{
		{"--bind-dev", []string{"h", "--bind-dev", "lo"}, func(t *testing.T, got measure.Test) { require.Equal(t, "lo", got.BindDevice) }},
		{"-B host%dev", []string{"h", "-B", "127.0.0.1%lo"}, func(t *testing.T, got measure.Test) {
			require.Equal(t, "127.0.0.1", got.BindAddress)
			require.Equal(t, "lo", got.BindDevice)
		}},
		{"-B ipv6 zone stays", []string{"h", "-B", "fe80::1%eth0"}, func(t *testing.T, got measure.Test) {
			require.Equal(t, "fe80::1%eth0", got.BindAddress)
			require.Empty(t, got.BindDevice)
		}},
		{"--dont-fragment --fq-rate", []string{"h", "-u", "--dont-fragment", "--fq-rate", "100M"}, func(t *testing.T, got measure.Test) {
			require.True(t, got.DontFragment)
			require.Equal(t, int64(100_000_000), got.FQRate)
		}},
		{"--snd-timeout ms", []string{"h", "--snd-timeout", "5000"}, func(t *testing.T, got measure.Test) { require.Equal(t, 5*time.Second, got.SndTimeout) }},
		{"--cntl-ka bare", []string{"h", "--cntl-ka"}, func(t *testing.T, got measure.Test) {
			require.Equal(t, net.KeepAliveConfig{Enable: true, Idle: -1, Interval: -1, Count: -1}, got.ControlKeepAlive)
		}},
		{"--cntl-ka=30/5/3", []string{"h", "--cntl-ka=30/5/3"}, func(t *testing.T, got measure.Test) {
			require.Equal(t, net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 5 * time.Second, Count: 3}, got.ControlKeepAlive)
		}},
		{"--cntl-ka=/5", []string{"h", "--cntl-ka=/5"}, func(t *testing.T, got measure.Test) {
			require.Equal(t, net.KeepAliveConfig{Enable: true, Idle: -1, Interval: 5 * time.Second, Count: -1}, got.ControlKeepAlive)
		}},
		{"-T --extra-data --repeating-payload", []string{"h", "-T", "lab", "--extra-data", "x=1", "--repeating-payload"}, func(t *testing.T, got measure.Test) {
			require.Equal(t, "lab", got.Title)
			require.Equal(t, "x=1", got.ExtraData)
			require.True(t, got.RepeatingPayload)
		}},
		{"accepted without effect", []string{"h", "--skip-rx-copy", "--gsro", "--forceflush", "-V", "--pacing-timer", "1000", "--rcv-timeout", "5000", "--timestamps", "--json-stream"}, func(t *testing.T, got measure.Test) {
			require.Equal(t, "h", got.Host)
		}},
		{"--debug=3", []string{"h", "--debug=3"}, func(t *testing.T, got measure.Test) { require.Equal(t, "h", got.Host) }},
		{"-d then host", []string{"-d", "h"}, func(t *testing.T, got measure.Test) { require.Equal(t, "h", got.Host) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseClient(tc.args, nil)
			require.NoError(t, err)
			tc.check(t, got)
		})
	}
}

// -m is MPTCP where the kernel has it, and refused with the reason where
// it does not (never a silent fallback to TCP).
func TestClientMPTCPFlag(t *testing.T) {
	got, err := parseClient([]string{"h", "-m"}, nil)
	if avail := measure.MPTCPAvailable(); avail != nil {
		require.EqualError(t, err, "-m/--mptcp: "+avail.Error())
		return
	}
	require.NoError(t, err)
	require.True(t, got.MPTCP)
}

// Every iperf3 option iperfmon does not offer is refused with the reason
// and what to use instead, and ranges are checked as iperf3 checks them.
func TestClientCompatErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--sctp"}, "--sctp: not supported: iperfmon does not speak SCTP: use TCP (default) or -u"},
		{[]string{"-X", "a"}, "-X/--xbind: not supported: iperfmon does not speak SCTP: use -B to bind"},
		{[]string{"--nstreams", "2"}, "--nstreams: not supported: iperfmon does not speak SCTP: use -P for parallel TCP streams"},
		{[]string{"-F", "f"}, "-F/--file: not supported: iperfmon measures the network, not disks or files: use -n SIZE to send that many bytes"},
		{[]string{"-L", "5"}, "-L/--flowlabel: not supported: iperfmon does not set IPv6 flow labels (the kernel's automatic labels, net.ipv6.auto_flowlabels, stay in effect)"},
		{[]string{"--debug=9"}, `-d/--debug: invalid debug level "9": allowed 1 to 4 (iperf3's levels; any turns on debug output)`},
		{[]string{"--cntl-ka=1/2/3"}, "--cntl-ka 1/2/3: the keepalive idle time must be larger than interval × count (iperf3: control connection Keepalive period should be larger than the full retry period)"},
		{[]string{"--cntl-ka=x"}, `--cntl-ka: invalid value "x": allowed [IDLE[/INTERVAL[/COUNT]]], positive whole numbers`},
		{[]string{"--rcv-timeout", "10"}, "--rcv-timeout: 10ms out of range; allowed 100 ms to 24h (iperf3: receive timeout value is incorrect or not in range)"},
		{[]string{"-A", "x"}, `-A/--affinity: invalid core "x": allowed a core number 0 to 1023`},
		{[]string{"-A", "0,1"}, "-A/--affinity 0,1: the server's core (,1) is not supported: pin the server on its own host with -A"},
		{[]string{"--json-stream-full-output"}, "--json-stream-full-output: only with --json-stream"},
		{[]string{"--fq-rate", "fast"}, `--fq-rate: invalid rate "fast": allowed bits per second with an optional 1000-based suffix k, m, g or t, e.g. "100M", or "0" for unlimited`},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			stdout, stderr, code := runApp(t, nil, append([]string{"-c", "h"}, tc.args...)...)
			require.Equal(t, exitUsage, code)
			require.Equal(t, "E! iperfmon client: "+tc.want+" (see iperfmon client --help)\n", stderr)
			require.Empty(t, stdout)
		})
	}
}

func TestServerCompatFlags(t *testing.T) {
	good := []struct {
		args  []string
		check func(t *testing.T, srv *measure.Server, sf *serverFlags)
	}{
		{[]string{"--server-max-duration", "30"}, func(t *testing.T, srv *measure.Server, _ *serverFlags) {
			require.Equal(t, 30*time.Second, srv.MaxDuration)
		}},
		{[]string{"--server-bitrate-limit", "1G/10"}, func(t *testing.T, srv *measure.Server, sf *serverFlags) {
			require.Equal(t, int64(1_000_000_000), srv.MaxBitrate)
			require.Equal(t, 10*time.Second, srv.MaxBitrateAveraging)
		}},
		{[]string{"--server-bitrate-limit", "1G"}, func(t *testing.T, srv *measure.Server, sf *serverFlags) {
			require.Equal(t, 5*time.Second, srv.MaxBitrateAveraging, "iperf3's default")
		}},
		{[]string{"--rcv-timeout", "2500"}, func(t *testing.T, srv *measure.Server, _ *serverFlags) {
			require.Equal(t, 2500*time.Millisecond, srv.IdleTimeout)
		}},
		{[]string{"-J", "-i", "1", "-f", "m", "-4", "--use-pkcs1-padding", "-V", "--forceflush", "--debug=1"}, func(t *testing.T, _ *measure.Server, sf *serverFlags) {
			require.True(t, sf.iperf3.json)
			require.True(t, sf.iperf3.ipv4)
			require.True(t, sf.debug)
		}},
	}
	for _, tc := range good {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			fs, sf := serverFlagSet()
			require.NoError(t, parseFlags(fs, tc.args))
			srv, err := sf.build(fs.Changed, fs.Args())
			require.NoError(t, err)
			tc.check(t, srv, sf)
		})
	}
	bad := []struct {
		args []string
		want string
	}{
		{[]string{"-D", "-4", "-6"}, "-4 and -6: choose one"}, // checked before going to the background
		{[]string{"--server-max-duration", "10", "--max-duration", "10"}, "--server-max-duration and --max-duration are the same limit: give one"},
		{[]string{"--server-bitrate-limit", "1G", "--max-bitrate", "1G"}, "--server-bitrate-limit and --max-bitrate are the same limit: give one"},
		{[]string{"--server-bitrate-limit", "1G/0"}, `--server-bitrate-limit: invalid averaging interval "0" in "1G/0": allowed 1 to 3600 seconds`},
		{[]string{"-4", "-6"}, "-4 and -6: choose one"},
		{[]string{"-B", "::1", "-4"}, "-B ::1 and -4: the address is of the other family"},
		{[]string{"--bind-dev", "lo"}, "--bind-dev: not supported by the server: give the interface's address with -B"},
		{[]string{"-f", "x"}, `-f/--format: invalid value "x": allowed one of k m g t (bits/s), K M G T (bytes/s), a A (adaptive)`},
		{[]string{"-i", "100"}, "-i/--interval: 1m40s out of range; allowed 0 or 0.1 to 60 seconds"},
	}
	for _, tc := range bad {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			stdout, stderr, code := runApp(t, nil, append([]string{"server"}, tc.args...)...)
			require.Equal(t, exitUsage, code)
			require.Equal(t, "E! iperfmon server: "+tc.want+" (see iperfmon server --help)\n", stderr)
			require.Empty(t, stdout)
		})
	}
}

func TestPrefixWriter(t *testing.T) {
	var b bytes.Buffer
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	w := &prefixWriter{w: &b, timeFormat: "%F %T ", title: "lab", now: func() time.Time { return now }}
	_, _ = w.Write([]byte("one\ntw"))
	_, _ = w.Write([]byte("o\n"))
	require.Equal(t, "2026-01-02 03:04:05 lab:  one\n2026-01-02 03:04:05 lab:  two\n", b.String())
	require.Equal(t, "Fri Jan  2 03:04:05 2026 %q", strftime("%c %q", now))
}

func TestJSONStream(t *testing.T) {
	var b bytes.Buffer
	doc := []byte(`{"start":{"a":1},"intervals":[{"i":1},{"i":2}],"end":{"e":1},"error":"boom"}`)
	require.NoError(t, jsonStream(&b, doc, false))
	require.Equal(t, `{"event":"start","data":{"a":1}}
{"event":"interval","data":{"i":1}}
{"event":"interval","data":{"i":2}}
{"event":"error","data":"boom"}
{"event":"end","data":{"e":1}}
`, b.String())
	b.Reset()
	require.NoError(t, jsonStream(&b, doc, true))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.True(t, json.Valid([]byte(lines[len(lines)-1])), "full document last")
}

// pflag must know every refused option, or it says "unknown flag".
var _ pflag.Value = refusedValue{}
