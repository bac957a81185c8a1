package interop

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/testenv"
	"github.com/iperfmon/iperfmon/measure"
	"github.com/stretchr/testify/require"
)

// TestInteropAuth authenticates against a stock iperf3 3.12 server, which
// decrypts with PKCS#1 v1.5 padding (OAEP came with 3.17).
func TestInteropAuth(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	dir := t.TempDir()
	priv := filepath.Join(dir, "private.pem")
	require.NoError(t, os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600))
	pkix, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})
	sum := sha256.Sum256([]byte("{alice}s3cret"))
	users := filepath.Join(dir, "users.csv")
	require.NoError(t, os.WriteFile(users, []byte("# user,sha256\nalice,"+hex.EncodeToString(sum[:])+"\n"), 0o600))
	serverArgs := []string{"--rsa-private-key-path", priv, "--authorized-users-path", users}

	tests := []struct {
		name     string
		password string
		oaep     bool
		code     measure.ResultCode
	}{
		{"good password", "s3cret", false, measure.CodeSuccess},
		{"wrong password", "guess", false, measure.CodeAuthFailed},
		{"oaep", "s3cret", true, measure.CodeAuthFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startStock(t, testenv.RequireTool(t, "iperf3"), "127.0.0.1", serverArgs...)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := (&measure.Client{}).Run(ctx, measure.Test{
				Host: "127.0.0.1", Port: srv.Port, Duration: time.Second,
				Username: "alice", Password: tc.password, RSAPublicKey: pub, UsePKCS1Padding: !tc.oaep,
			})
			require.Equal(t, tc.code, measure.Classify(err), "err: %v; server: %s", err, srv.Output())
			if tc.code == measure.CodeSuccess {
				require.Positive(t, res.Headline())
				require.Empty(t, res.Test.Password)
			}
		})
	}
}
