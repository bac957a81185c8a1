package measure_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
	"github.com/iperfmon/iperfmon/internal/servertest"
	"github.com/iperfmon/iperfmon/measure"
	"github.com/stretchr/testify/require"
)

type authFixture struct {
	key      *rsa.PrivateKey
	privPEM  []byte
	pubPath  string
	users    measure.AuthorizedUsers
	password string
}

func newAuthFixture(t *testing.T, pkcs8 bool) authFixture {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	var priv []byte
	if pkcs8 {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		require.NoError(t, err)
		priv = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	} else {
		priv = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	dir := t.TempDir()
	pubPath := filepath.Join(dir, "pub.pem")
	require.NoError(t, os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o600))
	usersFile := "# iperf3 users\n\nu," + measure.HashPassword("u", "s3cret") + "\nother," + measure.HashPassword("other", "x") + "\n"
	users, err := measure.ParseAuthorizedUsers(strings.NewReader(usersFile))
	require.NoError(t, err)
	return authFixture{key: key, privPEM: priv, pubPath: pubPath, users: users, password: "s3cret"}
}

// token builds an iperf3 auth token as a 3.17+ client does (OAEP).
func (f authFixture) token(t *testing.T, user, pass string, ts time.Time) string {
	t.Helper()
	plain := fmt.Sprintf("user: %s\npwd:  %s\nts:   %d", user, pass, ts.Unix())
	ct, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, &f.key.PublicKey, []byte(plain), nil)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(ct)
}

func TestServerAuthStockClient(t *testing.T) {
	for _, pkcs8 := range []bool{false, true} {
		t.Run(fmt.Sprintf("pkcs8=%v", pkcs8), func(t *testing.T) {
			f := newAuthFixture(t, pkcs8)
			ts := servertest.Start(t, &measure.Server{RSAPrivateKey: f.privPEM, AuthorizedUsers: f.users}, "127.0.0.1:0")
			creds := []string{"--username", "u", "--rsa-public-key-path", f.pubPath}

			r := servertest.RunIperf3(t, ts, "", []string{"IPERF3_PASSWORD=" + f.password}, append(creds, "-t", "1")...)
			require.Equal(t, 0, r.ExitCode, r.Stdout+r.Stderr)
			require.Equal(t, measure.CodeSuccess, ts.Last(t, 1).Code)

			r = servertest.RunIperf3(t, ts, "", []string{"IPERF3_PASSWORD=wrong"}, append(creds, "-t", "1")...)
			require.NotEqual(t, 0, r.ExitCode)
			require.Contains(t, r.Stdout+r.Stderr, "test authorization failed")
			st := ts.Last(t, 2)
			require.Equal(t, measure.CodeAuthFailed, st.Code)
			require.ErrorIs(t, st.Err, measure.ErrAuthFailed)

			r = servertest.RunIperf3(t, ts, "", nil, "-t", "1") // no credentials at all
			require.NotEqual(t, 0, r.ExitCode)
			require.Contains(t, r.Stdout+r.Stderr, "test authorization failed")
		})
	}
}

func TestServerAuthCraftedTokens(t *testing.T) {
	f := newAuthFixture(t, false)
	ts := servertest.Start(t, &measure.Server{RSAPrivateKey: f.privPEM, AuthorizedUsers: f.users, TimeSkewThreshold: 10 * time.Second}, "127.0.0.1:0")
	params := func(tok string) map[string]any {
		return map[string]any{"tcp": true, "time": 1, "num": 0, "blockcount": 0, "parallel": 1, "len": 131072, "authtoken": tok, "client_version": "test"}
	}
	fresh := f.token(t, "u", f.password, time.Now())
	cases := []struct {
		name  string
		token string
		ok    bool
	}{
		{"oaep-ok", fresh, true},
		{"replayed", fresh, false},
		{"too-old", f.token(t, "u", f.password, time.Now().Add(-time.Minute)), false},
		{"from-the-future", f.token(t, "u", f.password, time.Now().Add(time.Minute)), false},
		{"wrong-password", f.token(t, "u", "nope", time.Now()), false},
		{"unknown-user", f.token(t, "mallory", f.password, time.Now()), false},
		{"not-base64", "!!!", false},
		{"garbage", base64.StdEncoding.EncodeToString(make([]byte, 256)), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc := servertest.DialRaw(t, ts)
			rc.SendCookie()
			rc.ExpectState(iperf3wire.ParamExchange)
			rc.SendJSON(params(tc.token))
			if tc.ok {
				rc.ExpectState(iperf3wire.CreateStreams)
				rc.C.Close() // frees the slot once the server notices
				ts.WaitActive(t, 0)
				return
			}
			num, _ := rc.ExpectServerError()
			require.Equal(t, int32(iperf3wire.IEAUTHTEST), num)
		})
	}
}

func TestParseAuthorizedUsers(t *testing.T) {
	users, err := measure.ParseAuthorizedUsers(strings.NewReader("# comment\n\nalice," + measure.HashPassword("alice", "pw") + "\r\n  bob , " + strings.ToUpper(measure.HashPassword("bob", "pw")) + "\n"))
	require.NoError(t, err)
	require.Equal(t, measure.HashPassword("alice", "pw"), users["alice"])
	require.Equal(t, measure.HashPassword("bob", "pw"), users["bob"])
	// iperf3's own example: user mario, password rossi.
	require.Equal(t, "bf7a49a846d44b454a5d11e7acfaf13d138bbe0b7483aa3e050879700572709b", measure.HashPassword("mario", "rossi"))

	for _, bad := range []string{"alice\n", "alice,nothex\n", ",abc\n"} {
		_, err := measure.ParseAuthorizedUsers(strings.NewReader(bad))
		require.Error(t, err, bad)
		require.Contains(t, err.Error(), "line 1")
	}
}

func TestParseRSAPrivateKeyErrors(t *testing.T) {
	_, err := measure.ParseRSAPrivateKey([]byte("not a key"))
	require.ErrorContains(t, err, "no PEM block")
	_, err = measure.ParseRSAPrivateKey(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}))
	require.ErrorContains(t, err, "encrypted")
	ln, err := measure.Listen(t.Context(), "127.0.0.1:0")
	require.NoError(t, err)
	err = (&measure.Server{RSAPrivateKey: []byte("x")}).Serve(t.Context(), ln)
	require.ErrorContains(t, err, "needs both RSAPrivateKey and AuthorizedUsers")
}
