package measure

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestEncryptAuthToken(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	pkix, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	pemPKIX := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})
	pemPKCS1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)})
	now := time.Unix(1_700_000_123, 0)
	want := "user: alice\npwd:  s3cret pw\nts:   1700000123"

	tests := []struct {
		name  string
		pem   []byte
		pkcs1 bool
	}{
		{"PKIX OAEP", pemPKIX, false},
		{"PKIX PKCS1v15", pemPKIX, true},
		{"PKCS1 key OAEP", pemPKCS1, false},
		{"key after another block", append(pem.EncodeToMemory(&pem.Block{Type: "COMMENT", Bytes: []byte("x")}), pemPKIX...), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := encryptAuthToken("alice", "s3cret pw", tc.pem, tc.pkcs1, now)
			require.NoError(t, err)
			require.NotContains(t, tok, "\n")
			ct, err := base64.StdEncoding.DecodeString(tok)
			require.NoError(t, err)
			require.Len(t, ct, 256)
			var pt []byte
			if tc.pkcs1 {
				//lint:ignore SA1019 decrypts as an iperf3 server before 3.17 does.
				pt, err = rsa.DecryptPKCS1v15(nil, key, ct)
			} else {
				pt, err = rsa.DecryptOAEP(sha1.New(), nil, key, ct, nil)
			}
			require.NoError(t, err)
			require.Equal(t, want, string(pt))
		})
	}

	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ecDER, err := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	require.NoError(t, err)
	bad := []struct {
		name, user, pw string
		pem            []byte
		msg            string
	}{
		{"no PEM", "a", "b", []byte("hello"), "no PEM"},
		{"not RSA", "a", "b", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecDER}), "needs RSA"},
		{"corrupt key", "a", "b", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1, 2, 3}}), "parse PUBLIC KEY"},
		{"empty user", "", "b", pemPKIX, "empty username"},
		{"newline in password", "a", "b\nts: 1", pemPKIX, "line breaks"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := encryptAuthToken(tc.user, tc.pw, tc.pem, false, now)
			require.ErrorContains(t, err, tc.msg)
		})
	}
}
