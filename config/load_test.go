package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/measure"
)

// allowedKeys is the list every unknown-key error ends with; TestKeysAreTheTags
// keeps keys equal to the Table's toml tags.
var allowedKeys = strings.Join(keys, ", ")

// invalid maps each testdata/invalid-*.toml (one per rule) to its exact error.
var invalid = map[string]string{
	"unknown-key":   `inputs.iperf3[0]: line 4: paralel = 2: unknown key (did you mean "parallel"?); allowed ` + allowedKeys,
	"sub-table":     `inputs.iperf3[0]: line 3: tags = (a table): unknown key (a Telegraf per-plugin option: it applies only inside Telegraf); allowed ` + allowedKeys,
	"unknown-table": `line 4: unexpected table [[outputs.file]]; allowed only [[inputs.iperf3]] tables`,
	"unknown-input": `line 1: unexpected table [[inputs.ping]]; allowed only [[inputs.iperf3]] tables`,
	"single-table":  `line 1: unexpected table [inputs.iperf3]; allowed only [[inputs.iperf3]] tables`,
	"top-level-key": `line 1: unexpected top-level key interval; allowed only [[inputs.iperf3]] tables`,
	"empty":         `no [[inputs.iperf3]] table; add at least one`,
	"syntax":        `parse: line 3: invalid TOML syntax`,
	"wrong-type":    `inputs.iperf3[0]: line 3: parallel = "2": allowed an integer 1..128`,

	"servers-string":   `inputs.iperf3[0]: line 2: servers = "127.0.0.1": allowed a list of strings, e.g. ["iperf.example.net", "192.0.2.7:5202"]`,
	"servers-empty":    `inputs.iperf3[0]: servers = []: allowed one or more ` + allowedServer,
	"servers-missing":  `inputs.iperf3[0]: servers = []: allowed one or more ` + allowedServer,
	"server-bare-ipv6": `inputs.iperf3[0]: servers[1] = "fd00::1": IPv6 addresses need brackets; allowed ` + allowedServer,
	"server-port":      `inputs.iperf3[0]: servers[0] = "127.0.0.1:70000": port "70000" out of range 1..65535; allowed ` + allowedServer,
	"server-url":       `inputs.iperf3[0]: servers[0] = "http://iperf.example.net": a URL, not a host; allowed ` + allowedServer,
	"server-host":      `inputs.iperf3[0]: servers[0] = "iperf example net": not a host name or address; allowed ` + allowedServer,
	"server-duplicate": `inputs.iperf3[0]: servers[1] = "iperf.example.net:5201": the same server as servers[0]; allowed each server once per table`,

	"schedule":            `inputs.iperf3[0]: schedule = "0 * * *": expected 5 to 6 fields, found 4: [0 * * *]; allowed ` + allowedSchedule,
	"schedule-tz":         `inputs.iperf3[0]: schedule = "CRON_TZ=Mars/Olympus 0 * * * *": provided bad location Mars/Olympus: unknown time zone Mars/Olympus; allowed ` + allowedSchedule,
	"splay-negative":      `inputs.iperf3[0]: line 3: splay = "-5s": allowed a duration that is not negative`,
	"splay-period":        `inputs.iperf3[0]: splay = "5m": not shorter than the 5m between scheduled runs; allowed less than 5m`,
	"protocol":            `inputs.iperf3[0]: protocol = "sctp": allowed "tcp" or "udp"`,
	"directions-empty":    `inputs.iperf3[0]: directions = []: allowed one or more of "forward", "reverse" or "bidir"`,
	"direction":           `inputs.iperf3[0]: directions[1] = "both": allowed "forward", "reverse" or "bidir"`,
	"direction-duplicate": `inputs.iperf3[0]: directions[1] = "reverse": the same as directions[0]; allowed each direction once`,

	"duration-syntax":   `inputs.iperf3[0]: line 3: duration = "10 seconds": allowed a duration like "10s" or "1m30s", or a number of seconds`,
	"duration-fraction": `inputs.iperf3[0]: duration = "1500ms": allowed whole seconds from 1s to 24h`,
	"duration-long":     `inputs.iperf3[0]: duration = "25h": allowed whole seconds from 1s to 24h`,
	"omit":              `inputs.iperf3[0]: omit = "11m": allowed whole seconds from 0s to 10m`,
	"parallel":          `inputs.iperf3[1]: parallel = 200: allowed 1..128`,
	"parallel-zero":     `inputs.iperf3[0]: parallel = 0: allowed 1..128`,

	"bitrate-syntax":  `inputs.iperf3[0]: line 3: bitrate = "100Mbps": allowed bits per second with an optional 1000-based suffix k, m, g or t, e.g. "100M", or "0" for unlimited`,
	"bitrate-pacing":  `inputs.iperf3[0]: bitrate = "100G": 781250000 blocks/s per stream with length 16; a sender paces at most 10000000; allowed a lower bitrate, a larger length or more parallel streams`,
	"bitrate-low":     `inputs.iperf3[0]: bitrate = "1k": too low to send one 131072-byte block per stream in 10s; allowed at least 104858 bits/s, or a smaller length`,
	"length-syntax":   `inputs.iperf3[0]: line 3: length = "-5": allowed a byte count with an optional 1024-based suffix K, M, G or T, e.g. "128K"`,
	"length-tcp":      `inputs.iperf3[0]: length = "2M": allowed 1 to 1048576 bytes ("1M") for tcp, or "" (128K)`,
	"length-udp":      `inputs.iperf3[0]: length = "64K": allowed 16 to 65507 bytes for udp, or "" (1460)`,
	"window":          `inputs.iperf3[0]: window = "1G": allowed 0 to 536870912 bytes ("512M"), or "" (autotuning)`,
	"tos":             `inputs.iperf3[0]: tos = 256: allowed 0..255`,
	"family":          `inputs.iperf3[0]: family = "inet6": allowed "auto", "ipv4" or "ipv6"`,
	"family-mismatch": `inputs.iperf3[0]: family = "ipv4": servers[1] = "[::1]:5201" is an address of the other family; allowed "auto" or the family of every address in servers`,

	"connect-timeout":      `inputs.iperf3[0]: connect_timeout = "0s": allowed a duration of more than 0s`,
	"connect-timeout-long": `inputs.iperf3[0]: connect_timeout = "1m": longer than the whole test's timeout (25s); allowed up to 25s`,
	"timeout":              `inputs.iperf3[0]: timeout = "12s": not longer than duration + omit (12s); allowed "" (duration + omit + 15s) or more than 12s`,
	"busy-retries":         `inputs.iperf3[0]: busy_retries = -1: allowed 0..100`,
	"busy-backoff":         `inputs.iperf3[0]: busy_backoff = "0s": allowed a duration of more than 0s when busy_retries > 0`,
	"busy-backoff-long":    `inputs.iperf3[0]: busy_backoff = "30s": not shorter than the test's timeout (25s), so no retry could run; allowed less than 25s, or busy_retries = 0`,

	"username-missing": `inputs.iperf3[0]: username = "": allowed a user name when rsa_public_key is set`,
	"rsa-missing":      `inputs.iperf3[0]: rsa_public_key = "": allowed the path of the server's RSA public key (PEM) when username is set`,
	"password-alone":   `inputs.iperf3[0]: password = "<redacted>": allowed a password only together with username and rsa_public_key`,
	"password-missing": `inputs.iperf3[0]: password = "": allowed a password here or in the IPERF3_PASSWORD environment variable when username is set`,
	"rsa-file":         `inputs.iperf3[0]: rsa_public_key = "testdata/does-not-exist.pem": open testdata/does-not-exist.pem: no such file or directory; allowed a readable PEM file holding the server's RSA public key`,
	"rsa-not-pem":      `inputs.iperf3[0]: rsa_public_key = "testdata/valid-minimal.toml": no PEM block in testdata/valid-minimal.toml; allowed a readable PEM file holding the server's RSA public key`,
	"rsa-not-rsa":      `inputs.iperf3[0]: rsa_public_key = "testdata/ec-public.pem": testdata/ec-public.pem holds a *ecdsa.PublicKey, not an RSA public key; allowed a readable PEM file holding the server's RSA public key`,
}

func TestLoadInvalid(t *testing.T) {
	t.Setenv("IPERF3_PASSWORD", "")
	files, err := filepath.Glob("testdata/invalid-*.toml")
	require.NoError(t, err)
	require.Len(t, files, len(invalid), "one testdata file per rule and one rule per file")
	for _, path := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "invalid-"), ".toml")
		t.Run(name, func(t *testing.T) {
			want, ok := invalid[name]
			require.True(t, ok, "no expected error for %s", path)
			_, err := Load(path)
			require.EqualError(t, err, path+": "+want)
		})
	}
}

func TestLoadValid(t *testing.T) {
	t.Setenv("IPERF3_PASSWORD", "")
	t.Run("minimal", func(t *testing.T) {
		tables, err := Load("testdata/valid-minimal.toml")
		require.NoError(t, err)
		require.Len(t, tables, 1)
		want := DefaultTable()
		want.Servers = []string{"127.0.0.1"}
		got := tables[0]
		got.src = nil
		require.Equal(t, want, got)
	})
	t.Run("full", func(t *testing.T) {
		tables, err := Load("testdata/valid-full.toml")
		require.NoError(t, err)
		require.Len(t, tables, 2)
		a := tables[0]
		require.Equal(t, []string{"iperf.example.net", "192.0.2.7:5202", "[2001:db8::1]:5203", "[fd00::2]"}, a.Servers)
		require.Equal(t, "CRON_TZ=Europe/Berlin */15 * * * *", a.Schedule)
		require.Equal(t, Duration(30*time.Second), a.Splay)
		require.Equal(t, "udp", a.Protocol)
		require.Equal(t, []string{"forward", "reverse", "bidir"}, a.Directions)
		require.Equal(t, Duration(20*time.Second), a.Duration)
		require.Equal(t, Duration(2*time.Second), a.Omit)
		require.Equal(t, 4, a.Parallel)
		require.Equal(t, Rate(100_000_000), a.Bitrate)
		require.Equal(t, Size(1400), a.Length)
		require.Equal(t, Size(4<<20), a.Window)
		require.Equal(t, 184, a.TOS)
		require.Equal(t, Duration(3*time.Second), a.ConnectTimeout)
		require.Equal(t, Duration(time.Minute), a.Timeout)
		require.Equal(t, 5, a.BusyRetries)
		require.Equal(t, Duration(2*time.Second), a.BusyBackoff)
		require.True(t, a.IntervalMetrics)
		require.False(t, a.Latency)

		b := tables[1]
		require.Equal(t, "@every 1m30s", b.Schedule)
		require.Equal(t, Rate(measure.BitrateUnlimited), b.Bitrate)
		require.Equal(t, DefaultDirections(), b.Directions)
		require.Equal(t, 3, b.BusyRetries)
		require.True(t, b.Latency, "latency defaults to true")
	})
	t.Run("auth", func(t *testing.T) {
		tables, err := Load("testdata/valid-auth.toml")
		require.NoError(t, err)
		pem, err := os.ReadFile("testdata/public.pem")
		require.NoError(t, err)
		targets := tables[0].Targets()
		require.Len(t, targets, 2)
		require.Equal(t, "mario", targets[0].Test.Username)
		require.Equal(t, "rossi", targets[0].Test.Password)
		require.Equal(t, pem, targets[0].Test.RSAPublicKey)
	})
	t.Run("password from environment", func(t *testing.T) {
		t.Setenv("IPERF3_PASSWORD", "from-env")
		tables, err := Parse([]byte("[[inputs.iperf3]]\nservers = [\"127.0.0.1\"]\nusername = \"mario\"\nrsa_public_key = \"testdata/public.pem\"\n"))
		require.NoError(t, err)
		require.Equal(t, "from-env", tables[0].Targets()[0].Test.Password)
	})
	t.Run("integers and bare seconds", func(t *testing.T) {
		tables, err := Parse([]byte("[[inputs.iperf3]]\nservers = [\"h\"]\nduration = 5\nomit = 1\nbitrate = 2000000\nlength = 1400\n"))
		require.NoError(t, err)
		require.Equal(t, Duration(5*time.Second), tables[0].Duration)
		require.Equal(t, Duration(time.Second), tables[0].Omit)
		require.Equal(t, Rate(2_000_000), tables[0].Bitrate)
		require.Equal(t, Size(1400), tables[0].Length)
	})
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/nope.toml")
	require.ErrorIs(t, err, os.ErrNotExist)
}

// Validate on a table built in Go (as the plugin's is) names no index and
// quotes values as they would be written.
func TestValidateWithoutFile(t *testing.T) {
	tbl := DefaultTable()
	tbl.Servers = []string{"127.0.0.1"}
	tbl.Duration = Duration(90 * time.Second)
	tbl.Timeout = Duration(time.Minute)
	require.EqualError(t, tbl.Validate(), `inputs.iperf3: timeout = "1m": not longer than duration + omit (1m30s); allowed "" (duration + omit + 15s) or more than 1m30s`)

	tbl = DefaultTable()
	tbl.Servers = []string{"127.0.0.1"}
	tbl.Bitrate = 1000
	require.EqualError(t, tbl.Validate(), `inputs.iperf3: bitrate = "1K": too low to send one 131072-byte block per stream in 10s; allowed at least 104858 bits/s, or a smaller length`)

	// UDP's default 1 Mbit/s is checked too.
	tbl = DefaultTable()
	tbl.Servers = []string{"127.0.0.1"}
	tbl.Protocol = "udp"
	tbl.Length = 65000
	tbl.Parallel = 128
	require.EqualError(t, tbl.Validate(), `inputs.iperf3: bitrate = "": too low to send one 65000-byte block per stream in 10s; allowed at least 6656000 bits/s, or a smaller length`)
}

func TestSetDefaults(t *testing.T) {
	tbl := Table{Servers: []string{"h"}}
	tbl.SetDefaults()
	want := DefaultTable()
	want.Servers = []string{"h"}
	want.BusyRetries = 0
	want.Latency = false // a table built in Go: false cannot be told from unset
	require.Equal(t, want, tbl)
	require.NoError(t, tbl.Validate())
}

// TestKeysAreTheTags fails when a key is added to Table but not to keys
// (or keyKinds), which would let Telegraf accept a key that iperfmon run
// refuses.
func TestKeysAreTheTags(t *testing.T) {
	var tags []string
	typ := reflect.TypeFor[Table]()
	for i := range typ.NumField() {
		tag := typ.Field(i).Tag.Get("toml")
		if typ.Field(i).Name == "Password" {
			tag = "password" // decoded by hand: see Table.Password
		}
		if tag != "" && tag != "-" {
			tags = append(tags, tag)
		}
	}
	require.Equal(t, tags, keys, "keys must list Table's toml tags in declaration order")
	for _, k := range keys {
		require.NotEmpty(t, keyKinds[k], "keyKinds has no entry for %q", k)
	}
}
