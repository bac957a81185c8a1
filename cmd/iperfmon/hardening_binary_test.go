package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/measure"
)

// The server's flag defaults are the safe measure.Server defaults: one
// test at a time, the stream cap, the 1 h duration cap and the 10 s idle
// timeout (zero fields; measure's TestServerDefaultsAreSafe pins what zero
// means), no authentication and no allow list unless asked for.
func TestServerFlagDefaultsAreSafe(t *testing.T) {
	fs, sf := serverFlagSet()
	require.NoError(t, parseFlags(fs, nil))
	srv, err := sf.build(fs.Changed, fs.Args())
	require.NoError(t, err)
	require.Equal(t, measure.DefaultMaxTests, srv.MaxTests)
	require.Zero(t, srv.MaxParallel, "0: measure.DefaultMaxParallel")
	require.Zero(t, srv.MaxDuration, "0: measure.DefaultMaxDuration; only --max-duration 0 removes it")
	require.Zero(t, srv.IdleTimeout, "0: measure.DefaultIdleTimeout; the flag cannot turn it off")
	require.Zero(t, srv.MaxPendingPerSource, "0: measure.DefaultMaxPendingPerSource")
	require.Zero(t, srv.CookieTimeout, "0: measure.DefaultCookieTimeout")
	require.Zero(t, srv.MaxBitrate)
	require.Empty(t, srv.Allow)
	require.Nil(t, srv.RSAPrivateKey)

	// The idle timeout cannot be disabled from the command line.
	for _, v := range []string{"0", "0s", "-1s"} {
		fs, sf := serverFlagSet()
		if err := parseFlags(fs, []string{"--idle-timeout", v}); err == nil {
			_, err = sf.build(fs.Changed, fs.Args())
			require.Error(t, err, "--idle-timeout %s", v)
		}
	}
}

// --allow refuses a client outside the list before reading anything from
// it; the refusal is recorded as access_denied.
func TestServerAllowBinary(t *testing.T) {
	for _, tc := range []struct {
		allow, result string
		code          int
	}{
		{"192.0.2.0/24,2001:db8::/32", "access_denied", 1},
		{"127.0.0.1", "success", 0},
	} {
		t.Run(tc.allow, func(t *testing.T) {
			p, port := startServer(t, "-o", "influx", "--allow", tc.allow)
			r := iperfmon(t, nil, "client", "127.0.0.1", "-p", port, "-t", "1", "-o", "influx")
			require.Equal(t, tc.code, r.code, r.stdout+r.stderr)
			rec := parseInflux(t, p.next(t, 5*time.Second))
			require.Equal(t, tc.result, rec[0].Tags()["result"])
			require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
			require.Equal(t, 0, p.wait(t, 5*time.Second))
		})
	}
}

// SIGTERM in the middle of a scheduled test stops `iperfmon run` within a
// couple of seconds with exit code 0 and no point for the cut test; the
// server sees the client go and is free again.
func TestRunSIGTERMMidTest(t *testing.T) {
	srv, port := startServer(t, "-o", "influx")
	conf := writeConfig(t, `[[inputs.iperf3]]
  servers = ["127.0.0.1:`+port+`"]
  schedule = "@every 1s"
  directions = ["forward"]
  duration = "30s"
  bitrate = "100M"
`)
	p := startIperfmon(t, "run", "--config", conf)
	time.Sleep(3 * time.Second) // the first run starts at 1 s: mid-test now
	began := time.Now()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	code := p.wait(t, 5*time.Second)
	took := time.Since(began)
	require.Equal(t, 0, code, p.stderr.String())
	require.Less(t, took, 2*time.Second, "exit after SIGTERM took %s", took)
	for l := range p.lines {
		t.Errorf("a cancelled test wrote a point: %s", l)
	}
	for _, l := range strings.Split(strings.TrimSpace(p.stderr.String()), "\n") {
		require.Regexp(t, `^[EWID]! `, l)
	}
	// The server recorded the cut test (not a success) promptly.
	rec := parseInflux(t, srv.next(t, 5*time.Second))
	require.NotEqual(t, "success", rec[0].Tags()["result"])
	require.NoError(t, srv.cmd.Process.Signal(syscall.SIGTERM))
	require.Equal(t, 0, srv.wait(t, 5*time.Second))
}

// longBase64 matches what an RSA-encrypted auth token looks like in
// base64 (344 characters for a 2048-bit key); nothing we print is that.
var longBase64 = regexp.MustCompile(`[A-Za-z0-9+/]{100,}={0,2}`)

// Passwords, their users-file hashes and auth tokens never reach logs,
// results or metrics: client, once and server at debug level, with good
// and wrong passwords, in every output format.
func TestSecretsNeverPrinted(t *testing.T) {
	const good, wrong = "Pw-goodSecret-7f3kQz", "Pw-wrongSecret-9xQz"
	priv, pub, users := authFiles(t, good)
	srv, port := startServer(t, "--debug", "-o", "influx", "--rsa-private-key-path", priv, "--authorized-users-path", users)

	var outputs []string
	creds := []string{"--username", "alice", "--rsa-public-key-path", pub}
	for _, tc := range []struct {
		password string
		args     []string
		code     int
	}{
		{good, []string{"-o", "influx"}, 0},
		{good, []string{"-J"}, 0},
		{good, []string{"-o", "json"}, 0},
		{good, []string{"-o", "text", "-R", "-u", "-b", "10M"}, 0},
		{wrong, []string{"-o", "influx"}, 1},
		{wrong, []string{"-J"}, 1},
	} {
		args := append(append([]string{"client", "127.0.0.1", "-p", port, "-t", "1", "--debug"}, creds...), tc.args...)
		r := iperfmon(t, []string{"IPERF3_PASSWORD=" + tc.password}, args...)
		require.Equal(t, tc.code, r.code, "%v: %s", tc.args, r.stderr)
		outputs = append(outputs, r.stdout, r.stderr)
	}
	// once, with the password in the config file and in the environment.
	for _, inFile := range []bool{true, false} {
		pw, env := `password = "`+good+`"`, []string(nil)
		if !inFile {
			pw, env = "", []string{"IPERF3_PASSWORD=" + good}
		}
		conf := writeConfig(t, `[[inputs.iperf3]]
  servers = ["127.0.0.1:`+port+`"]
  directions = ["forward"]
  duration = "1s"
  username = "alice"
  `+pw+`
  rsa_public_key = "`+pub+`"
`)
		r := iperfmon(t, env, "once", "--debug", "--config", conf)
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "result=success")
		outputs = append(outputs, r.stdout, r.stderr)
	}
	require.NoError(t, srv.cmd.Process.Signal(syscall.SIGTERM))
	require.Equal(t, 0, srv.wait(t, 10*time.Second))
	for l := range srv.lines {
		outputs = append(outputs, l)
	}
	outputs = append(outputs, srv.stderr.String())
	all := strings.Join(outputs, "\n")
	require.Contains(t, all, "auth_failed", "the wrong password was reported")
	require.Contains(t, all, "D! ", "debug output was on")

	for _, pw := range []string{good, wrong} {
		sum := sha256.Sum256([]byte("{alice}" + pw))
		for what, secret := range map[string]string{
			"password":        pw,
			"password hash":   hex.EncodeToString(sum[:]),
			"base64 password": base64.StdEncoding.EncodeToString([]byte(pw)),
		} {
			require.NotContains(t, all, secret, "%s %q printed", what, pw)
		}
	}
	require.Empty(t, longBase64.FindAllString(all, 3), "something like an auth token was printed")
	t.Logf("checked %d bytes in %d outputs", len(all), len(outputs))
}
