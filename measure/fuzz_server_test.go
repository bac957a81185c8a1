package measure

// Fuzz targets for what a client can send the server: the auth token
// (base64 → RSA decrypt → "user: U pwd: P ts: T") and the parameter JSON
// with the server's checks. Properties: no panic, every refusal wraps the
// right sentinel, and whatever is accepted stays within the limits, so
// that no client can make the server allocate or run beyond them.

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// fuzzNow is the server clock in FuzzServerAuth, so that seed tokens stamped
// with it stay valid forever.
var fuzzNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var fuzzAuthKey = sync.OnceValues(func() ([]byte, error) {
	return os.ReadFile("testdata/fuzz-auth-key.pem")
})

// fuzzToken builds a token as a client does, with OAEP or PKCS#1 v1.5.
func fuzzToken(tb testing.TB, user, pass string, ts time.Time, pkcs1 bool) string {
	pem, err := fuzzAuthKey()
	if err != nil {
		tb.Fatal(err)
	}
	key, err := ParseRSAPrivateKey(pem)
	if err != nil {
		tb.Fatal(err)
	}
	plain := fmt.Sprintf("user: %s\npwd:  %s\nts:   %d", user, pass, ts.Unix())
	var ct []byte
	if pkcs1 {
		//lint:ignore SA1019 tokens as iperf3 clients before 3.17 send them.
		ct, err = rsa.EncryptPKCS1v15(rand.Reader, &key.PublicKey, []byte(plain))
	} else {
		ct, err = rsa.EncryptOAEP(sha1.New(), rand.Reader, &key.PublicKey, []byte(plain), nil)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(ct)
}

// FuzzServerAuth checks a token against a users file, both fuzzed, and
// the plaintext parser on its own.
func FuzzServerAuth(f *testing.F) {
	users := "# iperf3 users\nalice," + HashPassword("alice", "s3cret") + "\n"
	f.Add(fuzzToken(f, "alice", "s3cret", fuzzNow, false), users, []byte("user: alice\npwd:  s3cret\nts:   1767225600"))
	f.Add(fuzzToken(f, "alice", "s3cret", fuzzNow, true), users, []byte("user: a b\npwd: c\nts: 1"))
	f.Add(fuzzToken(f, "alice", "wrong", fuzzNow, false), users, []byte("user: alice pwd: x ts: 99999999999999999999"))
	f.Add(fuzzToken(f, "mallory", "s3cret", fuzzNow, false), users, []byte(""))
	f.Add(fuzzToken(f, "alice", "s3cret", fuzzNow.Add(-time.Hour), false), users, []byte("user: \x00\npwd:  \xff\nts:   -1"))
	f.Add("", users, []byte{})
	f.Add(strings.Repeat("QUFB", 2000), "bob,zz\n", []byte("user:"))
	f.Fuzz(func(t *testing.T, token, usersFile string, plain []byte) {
		if u, p, ts, err := parseAuthPlaintext(plain); err == nil {
			again := fmt.Sprintf("user: %s\npwd:  %s\nts:   %d", u, p, ts)
			u2, p2, ts2, err := parseAuthPlaintext([]byte(again))
			if err != nil || u2 != u || p2 != p || ts2 != ts {
				t.Fatalf("plaintext %q -> %q %q %d -> %q -> %v", plain, u, p, ts, again, err)
			}
		} else if !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("plaintext error %v does not wrap ErrAuthFailed", err)
		}

		users, err := ParseAuthorizedUsers(strings.NewReader(usersFile))
		if err != nil {
			return
		}
		pem, err := fuzzAuthKey()
		if err != nil {
			t.Fatal(err)
		}
		a, err := newServerAuth(pem, users, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		user, err := a.check(token, fuzzNow)
		if err != nil {
			if !errors.Is(err, ErrAuthFailed) {
				t.Fatalf("refusal %v does not wrap ErrAuthFailed", err)
			}
			if Classify(err) != CodeAuthFailed {
				t.Fatalf("refusal classifies as %v", Classify(err))
			}
			return
		}
		if _, ok := users[user]; !ok {
			t.Fatalf("accepted user %q who is not in the users file", user)
		}
		if _, err := a.check(token, fuzzNow); err == nil {
			t.Fatal("the same token was accepted twice (replay)")
		}
	})
}

// FuzzServerParams runs arbitrary parameter JSON through the server's
// decoding and checks, with default limits and with tight ones, and
// asserts that what is accepted stays inside them.
func FuzzServerParams(f *testing.F) {
	for _, s := range []string{
		`{"tcp":true,"omit":0,"time":10,"num":0,"blockcount":0,"parallel":1,"len":131072,"pacing_timer":1000,"client_version":"3.12"}`,
		`{"udp":true,"time":1,"parallel":2,"bidirectional":true,"len":1200,"bandwidth":5000000,"udp_counters_64bit":1}`,
		`{"tcp":true,"reverse":true,"time":1e308,"len":1099511627776,"parallel":1e9,"window":1e18}`,
		`{"tcp":true,"time":0,"num":0,"blockcount":0}`,
		`{"udp":true,"len":65508,"time":1}`,
		`{"tcp":true,"time":-1,"omit":-1,"MSS":-5,"TOS":256}`,
		`{"sctp":true,"time":1}`,
		`{"tcp":true,"time":1,"bandwidth":18446744073709551615,"fqrate":1e19,"parallel":128}`,
		`{"tcp":true,"time":86400,"omit":600,"parallel":128,"len":1048576,"window":536870912}`,
	} {
		f.Add([]byte(s))
	}
	defaults := &Server{}
	tight := &Server{MaxTests: 2, MaxDuration: time.Minute, MaxParallel: 8, MaxBitrate: 1_000_000_000}
	for _, s := range []*Server{defaults, tight} {
		if err := s.init(); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, perr := decodeParams(raw)
		if perr != nil {
			if perr.num == 0 || perr.msg == "" {
				t.Fatalf("refusal without an iperf3 error number or text: %+v", perr)
			}
			return
		}
		for _, s := range []*Server{defaults, tight} {
			if perr := s.checkParams(p); perr != nil {
				if perr.num == 0 || perr.msg == "" {
					t.Fatalf("refusal without an iperf3 error number or text: %+v", perr)
				}
				continue
			}
			cfg := streamConfigFromParams(p)
			test := testFromParams(p)
			maxLen := maxTCPBlockSize
			if cfg.Protocol == UDP {
				maxLen = maxUDPBlockSize
			}
			switch {
			case cfg.Length < 1 || cfg.Length > maxLen:
				t.Fatalf("accepted block size %d (max %d): %s", cfg.Length, maxLen, raw)
			case cfg.Window < 0 || cfg.Window > maxSocketBuffer:
				t.Fatalf("accepted window %d: %s", cfg.Window, raw)
			case test.Parallel < 1 || test.Parallel > s.maxParallel():
				t.Fatalf("accepted %d streams (max %d): %s", test.Parallel, s.maxParallel(), raw)
			case cfg.Duration < 0 || cfg.Omit < 0 || cfg.Duration+cfg.Omit > s.maxDuration():
				t.Fatalf("accepted duration %s + omit %s (max %s): %s", cfg.Duration, cfg.Omit, s.maxDuration(), raw)
			case cfg.Bytes < 0 || cfg.Blocks < 0 || cfg.Bitrate < 0:
				t.Fatalf("accepted negative budget or rate %+v: %s", cfg, raw)
			case s.MaxBitrate > 0 && cfg.Bitrate > s.MaxBitrate:
				t.Fatalf("accepted bitrate %d over the server's %d: %s", cfg.Bitrate, s.MaxBitrate, raw)
			case test.TOS < 0 || test.TOS > 255:
				t.Fatalf("accepted TOS %d: %s", test.TOS, raw)
			}
		}
	})
}
