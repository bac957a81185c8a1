package measure

// FuzzRSAKeys feeds PEM files to the key parsers (the client's
// --rsa-public-key-path / rsa_public_key, the server's
// --rsa-private-key-path). Properties: no panic, a clear error, and an
// accepted key is usable: a public key encrypts a token or says why not,
// a private key decrypts what its public half encrypted.

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"testing"
	"time"
)

func FuzzRSAKeys(f *testing.F) {
	priv, err := os.ReadFile("testdata/fuzz-auth-key.pem")
	if err != nil {
		f.Fatal(err)
	}
	key, err := ParseRSAPrivateKey(priv)
	if err != nil {
		f.Fatal(err)
	}
	pkix, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	f.Add(priv)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix}))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)}))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"DEK-Info": "AES-128-CBC,00"}, Bytes: []byte{1}}))
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nMA==\n-----END PUBLIC KEY-----\n"))
	f.Add([]byte("not a key"))
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		if pub, err := parseRSAPublicKey(data); err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
		} else {
			if pub == nil || pub.N == nil || pub.N.Sign() <= 0 {
				t.Fatalf("accepted a public key without a modulus: %+v", pub)
			}
			if pub.N.BitLen() <= 4096 { // larger keys only cost time, not correctness
				if tok, err := encryptAuthToken("u", "p", data, false, start); err == nil && tok == "" {
					t.Fatal("empty token without an error")
				}
			}
		}
		if k, err := ParseRSAPrivateKey(data); err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
		} else if k.N.BitLen() <= 4096 {
			// A parsed private key round-trips a token through the server's check.
			pubPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.PublicKey)})
			tok, err := encryptAuthToken("alice", "pw", pubPEM, false, start)
			if err != nil {
				return // too small a key for OAEP: refused with an error
			}
			a, err := newServerAuth(data, AuthorizedUsers{"alice": HashPassword("alice", "pw")}, 10*time.Second)
			if err != nil {
				t.Fatalf("key parsed but the server refuses it: %v", err)
			}
			if user, err := a.check(tok, start); err != nil || user != "alice" {
				t.Fatalf("token from the parsed key: user %q, %v", user, err)
			}
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("took %s on %d bytes", took, len(data))
		}
	})
}
