package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/internal/stockiperf"
	"github.com/iperfmon/iperfmon/internal/testenv"
)

// startServer starts `iperfmon server` on a free loopback port and waits
// until it accepts connections (a connection without a cookie is no test).
func startServer(t *testing.T, args ...string) (*proc, string) {
	t.Helper()
	port := strconv.Itoa(stockiperf.FreePort(t))
	p := startIperfmon(t, append([]string{"server", "-B", "127.0.0.1", "-p", port}, args...)...)
	require.Eventually(t, func() bool {
		c, err := (&net.Dialer{Timeout: time.Second}).DialContext(context.Background(), "tcp", "127.0.0.1:"+port)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}, 10*time.Second, 50*time.Millisecond, "iperfmon server did not listen")
	return p, port
}

// stockClient is a stock `iperf3 -c` running in the background.
type stockClient struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan struct{}
}

// startStockClient starts iperf3 -c against port and returns once it
// printed its first interval: the test is in its data phase.
func startStockClient(t *testing.T, port string, args ...string) *stockClient {
	t.Helper()
	bin := testenv.RequireTool(t, "iperf3")
	c := &stockClient{done: make(chan struct{})}
	c.cmd = exec.Command(bin, append([]string{"-c", "127.0.0.1", "-p", port, "--forceflush"}, args...)...)
	pipe, err := c.cmd.StdoutPipe()
	require.NoError(t, err)
	c.cmd.Stderr = c.cmd.Stdout
	require.NoError(t, c.cmd.Start())
	t.Cleanup(func() { _ = c.cmd.Process.Kill(); <-c.done })
	running := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pipe)
		signalled := false
		for sc.Scan() {
			c.out.WriteString(sc.Text() + "\n")
			if !signalled && strings.Contains(sc.Text(), "/sec") {
				close(running)
				signalled = true
			}
		}
		_ = c.cmd.Wait()
		close(c.done)
	}()
	select {
	case <-running:
	case <-c.done:
		t.Fatalf("iperf3 -c ended before its first interval:\n%s", c.out.String())
	case <-time.After(10 * time.Second):
		t.Fatal("iperf3 -c printed no interval within 10s")
	}
	return c
}

// wait returns the client's exit code and output within d.
func (c *stockClient) wait(t *testing.T, d time.Duration) (int, string) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(d):
		t.Fatalf("iperf3 -c did not exit within %v", d)
	}
	return c.cmd.ProcessState.ExitCode(), c.out.String()
}

// SIGINT and SIGTERM stop the server at once, and a stock client in the
// middle of a test is told that the server terminated.
func TestServerSignalTellsClients(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			p, port := startServer(t)
			c := startStockClient(t, port, "-t", "30")
			start := time.Now()
			require.NoError(t, p.cmd.Process.Signal(sig))
			require.Equal(t, 0, p.wait(t, 5*time.Second), p.stderr.String())
			code, out := c.wait(t, 5*time.Second)
			require.NotEqual(t, 0, code, out)
			require.Contains(t, out, "the server has terminated")
			require.Less(t, time.Since(start), 5*time.Second)
			require.Contains(t, p.stderr.String(), "signal received, server stopped")
		})
	}
}

// -1 serves one test and exits 0 by itself.
func TestServerOneOffBinary(t *testing.T) {
	p, port := startServer(t, "-1")
	stock := stockiperf.ClientJSON(t, mustAtoi(t, port), "-t", "1")
	_, err := stockiperf.ParseGeneric(stock, false, true, false)
	require.NoError(t, err, string(stock))
	require.Equal(t, 0, p.wait(t, 5*time.Second), p.stderr.String())
}

// -o influx writes a record for refused and failed tests too.
func TestServerInfluxFailedTests(t *testing.T) {
	cases := []struct {
		name   string
		server []string
		client []string
		result string
	}{
		{"duration over the limit", []string{"--max-duration", "5s"}, []string{"-t", "10"}, "server_error"},
		{"client not allowed", []string{"--allow", "192.0.2.0/24"}, []string{"-t", "1"}, "access_denied"},
		{"parallel over the limit", []string{"--max-parallel", "2"}, []string{"-t", "1", "-P", "3"}, "server_error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, port := startServer(t, append([]string{"-o", "influx"}, tc.server...)...)
			bin := testenv.RequireTool(t, "iperf3")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, bin, append([]string{"-c", "127.0.0.1", "-p", port}, tc.client...)...).CombinedOutput()
			require.Error(t, err, "the stock client must fail: %s", out)
			ms := parseInflux(t, p.next(t, 5*time.Second))
			require.Len(t, ms, 1)
			require.Equal(t, tc.result, ms[0].Tags()["result"])
			require.Equal(t, "127.0.0.1", ms[0].Tags()["client"])
			require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
			require.Equal(t, 0, p.wait(t, 5*time.Second), p.stderr.String())
		})
	}
}

// authFiles writes an RSA key pair and an iperf3 users file for alice.
func authFiles(t *testing.T, password string) (priv, pub, users string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	dir := t.TempDir()
	priv = filepath.Join(dir, "private.pem")
	require.NoError(t, os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600))
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	pub = filepath.Join(dir, "public.pem")
	require.NoError(t, os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600))
	sum := sha256.Sum256([]byte("{alice}" + password))
	users = filepath.Join(dir, "users.csv")
	require.NoError(t, os.WriteFile(users, []byte("alice,"+hex.EncodeToString(sum[:])+"\n"), 0o600))
	return priv, pub, users
}

// RSA authentication end to end with the binaries: iperfmon client (OAEP
// and PKCS#1 v1.5) and stock iperf3 against iperfmon server, and iperfmon
// client against stock iperf3 -s (3.12 decrypts PKCS#1 v1.5 only).
func TestAuthBinaries(t *testing.T) {
	priv, pub, users := authFiles(t, "s3cret")
	authArgs := []string{"--rsa-private-key-path", priv, "--authorized-users-path", users}
	p, ourPort := startServer(t, append([]string{"-o", "influx"}, authArgs...)...)
	stockPort := strconv.Itoa(stockiperf.StartServer(t, authArgs...))
	creds := []string{"--username", "alice", "--rsa-public-key-path", pub, "-t", "1"}

	cases := []struct {
		name     string
		port     string
		password string
		extra    []string
		code     int
		result   string // iperfmon server's record, "" for stock iperf3 -s
	}{
		{"ours oaep", ourPort, "s3cret", nil, 0, "success"},
		{"ours pkcs1", ourPort, "s3cret", []string{"--use-pkcs1-padding"}, 0, "success"},
		{"ours wrong password", ourPort, "guess", nil, 1, "auth_failed"},
		{"stock pkcs1", stockPort, "s3cret", []string{"--use-pkcs1-padding"}, 0, ""},
		{"stock wrong password", stockPort, "guess", []string{"--use-pkcs1-padding"}, 1, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"client", "127.0.0.1", "-p", tc.port, "-o", "influx"}, creds...), tc.extra...)
			r := iperfmon(t, []string{"IPERF3_PASSWORD=" + tc.password}, args...)
			require.Equal(t, tc.code, r.code, r.stdout+r.stderr)
			ms := parseInflux(t, r.stdout)
			want := "success"
			if tc.code != 0 {
				want = "auth_failed"
			}
			require.Equal(t, want, ms[0].Tags()["result"])
			if tc.result != "" {
				rec := parseInflux(t, p.next(t, 5*time.Second))
				require.Equal(t, tc.result, rec[0].Tags()["result"])
			}
		})
	}

	// A stock client with the right password against iperfmon server.
	t.Run("stock client", func(t *testing.T) {
		bin := testenv.RequireTool(t, "iperf3")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append([]string{"-c", "127.0.0.1", "-p", ourPort}, creds...)...)
		cmd.Env = append(os.Environ(), "IPERF3_PASSWORD=s3cret")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
		rec := parseInflux(t, p.next(t, 5*time.Second))
		require.Equal(t, "success", rec[0].Tags()["result"])
	})
}
