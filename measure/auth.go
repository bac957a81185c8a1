package measure

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// authTokenText is iperf3's plaintext (iperf_auth.c auth_text_format).
func authTokenText(user, password string, now time.Time) string {
	return fmt.Sprintf("user: %s\npwd:  %s\nts:   %d", user, password, now.Unix())
}

// encryptAuthToken builds the authtoken parameter of iperf3's RSA
// authentication: the text "user: U\npwd:  P\nts:   <unix>" encrypted with
// the server's public key and base64-encoded (standard alphabet, one line).
// Padding is OAEP with SHA-1 (iperf3 3.17+), or PKCS#1 v1.5 when pkcs1 is
// set (--use-pkcs1-padding, for older servers). The key may be a PEM
// "PUBLIC KEY" (PKIX, what iperf3 uses) or "RSA PUBLIC KEY" (PKCS#1).
func encryptAuthToken(user, password string, publicKeyPEM []byte, pkcs1 bool, now time.Time) (string, error) {
	if user == "" {
		return "", errors.New("auth: empty username")
	}
	if strings.ContainsAny(user, "\n\r") || strings.ContainsAny(password, "\n\r") {
		return "", errors.New("auth: username and password must not contain line breaks")
	}
	pub, err := parseRSAPublicKey(publicKeyPEM)
	if err != nil {
		return "", err
	}
	msg := []byte(authTokenText(user, password, now))
	var ct []byte
	if pkcs1 {
		//lint:ignore SA1019 iperf3 servers before 3.17 decrypt only PKCS#1 v1.5 tokens (--use-pkcs1-padding).
		ct, err = rsa.EncryptPKCS1v15(rand.Reader, pub, msg)
	} else {
		ct, err = rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, msg, nil)
	}
	if err != nil {
		return "", fmt.Errorf("auth: encrypt token with a %d-bit key: %w", pub.N.BitLen(), err)
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}

// parseRSAPublicKey reads the first PEM block holding an RSA public key.
func parseRSAPublicKey(data []byte) (*rsa.PublicKey, error) {
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New(`auth: no PEM "PUBLIC KEY" or "RSA PUBLIC KEY" block in the public key`)
		}
		switch block.Type {
		case "PUBLIC KEY":
			k, err := x509.ParsePKIXPublicKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("auth: parse PUBLIC KEY: %w", err)
			}
			rk, ok := k.(*rsa.PublicKey)
			if !ok {
				return nil, fmt.Errorf("auth: public key is %T; iperf3 needs RSA", k)
			}
			return rk, nil
		case "RSA PUBLIC KEY":
			k, err := x509.ParsePKCS1PublicKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("auth: parse RSA PUBLIC KEY: %w", err)
			}
			return k, nil
		}
	}
}
