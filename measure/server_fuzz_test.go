package measure

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

// The server's parsers of client input must never panic.

func FuzzServerParams(f *testing.F) {
	f.Add([]byte(`{"tcp":true,"omit":0,"time":10,"num":0,"blockcount":0,"parallel":1,"len":131072,"client_version":"3.12"}`))
	f.Add([]byte(`{"udp":true,"time":1,"parallel":128,"len":65507,"bandwidth":1e300,"reverse":true,"bidirectional":true}`))
	f.Add([]byte(`{"sctp":true,"parallel":-1,"len":-5,"omit":1e20,"window":"x"}`))
	srv := &Server{MaxBitrate: 1 << 30, MaxDuration: time.Minute}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, perr := decodeParams(json.RawMessage(raw))
		if p == nil || perr != nil {
			return
		}
		if srv.checkParams(p) == nil {
			cfg := streamConfigFromParams(p)
			if cfg.Length <= 0 {
				t.Fatalf("accepted parameters give block length %d", cfg.Length)
			}
			_ = testFromParams(p)
			_ = dataIdle(time.Second, cfg)
		}
	})
}

func FuzzAuthorizedUsers(f *testing.F) {
	f.Add("# c\nmario,bf7a49a846d44b454a5d11e7acfaf13d138bbe0b7483aa3e050879700572709b\n")
	f.Add(",,,\n\r\n#\x00")
	f.Fuzz(func(t *testing.T, s string) {
		users, err := ParseAuthorizedUsers(strings.NewReader(s))
		if err == nil {
			for u, h := range users {
				if u == "" || len(h) != 64 {
					t.Fatalf("accepted user %q with hash %q", u, h)
				}
			}
		}
	})
}

func FuzzAuthToken(f *testing.F) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		f.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	a, err := newServerAuth(keyPEM, AuthorizedUsers{"u": HashPassword("u", "p")}, 10*time.Second)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("")
	f.Add("AAAA")
	f.Add(strings.Repeat("A", 172))
	f.Fuzz(func(t *testing.T, token string) {
		if _, err := a.check(token, time.Now()); err == nil {
			t.Fatalf("accepted fuzzed token %q", token)
		}
		_, _, _, _ = parseAuthPlaintext([]byte(token))
	})
}
