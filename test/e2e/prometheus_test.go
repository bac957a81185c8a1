//go:build linux

package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/testenv"
)

// prometheus is a private Prometheus server: its own data directory, a
// free loopback port, one hour of retention.
type prometheus struct {
	URL  string
	proc *proc
}

// startPrometheus starts Prometheus with config (YAML) and files beside it
// (name -> content, e.g. rule files), and waits until it is ready.
func startPrometheus(t testing.TB, config string, files map[string]string) *prometheus {
	t.Helper()
	bin := testenv.RequireTool(t, "prometheus")
	dir := t.TempDir()
	conf := filepath.Join(dir, "prometheus.yml")
	files["prometheus.yml"] = config
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // the free port can be taken before it binds
		port := freePorts(t, 1)[0]
		p := startProc(t, "prometheus", bin, "--config.file="+conf, "--storage.tsdb.path="+filepath.Join(dir, fmt.Sprint("data", attempt)),
			"--storage.tsdb.retention.time=1h", "--web.listen-address=127.0.0.1:"+strconv.Itoa(port), "--log.level=warn")
		pr := &prometheus{URL: fmt.Sprintf("http://127.0.0.1:%d", port), proc: p}
		lastErr = waitFor(context.Background(), 30*time.Second, 100*time.Millisecond, func() error {
			if p.exited() {
				return fmt.Errorf("prometheus exited: %v: %s", p.err, tail(p.stderr.String(), 2000))
			}
			resp, err := httpClient.Get(pr.URL + "/-/ready")
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("/-/ready: %s", resp.Status)
			}
			return nil
		})
		if lastErr == nil {
			return pr
		}
		p.stop(2 * time.Second)
	}
	t.Fatalf("prometheus did not start: %v", lastErr)
	return nil
}

// promSample is one series of an instant query's result.
type promSample struct {
	Labels map[string]string
	Value  float64
}

// query runs an instant query through Prometheus's HTTP API.
func (p *prometheus) query(q string) ([]promSample, error) {
	resp, err := httpClient.Get(p.URL + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("query %s: %w", q, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", q, body.Error)
	}
	out := make([]promSample, 0, len(body.Data.Result))
	for _, r := range body.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: value %v: %w", q, r.Value[1], err)
		}
		out = append(out, promSample{Labels: r.Metric, Value: v})
	}
	return out, nil
}

// exporterProc is `iperfmon exporter` on a free loopback port.
type exporterProc struct {
	Addr string
	proc *proc
}

var listeningRE = regexp.MustCompile(`I! exporter listening on (127\.0\.0\.1:\d+)`)

// startExporter starts `iperfmon exporter` with config on 127.0.0.1:0 and
// waits for the address it logs.
func startExporter(t testing.TB, config string, extra ...string) *exporterProc {
	t.Helper()
	path := filepath.Join(t.TempDir(), "iperfmon.toml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{iperfmonBin(t), "exporter", "--config", path, "--web.listen-address", "127.0.0.1:0"}, extra...)
	p := startProc(t, "iperfmon exporter", args...)
	e := &exporterProc{proc: p}
	err := waitFor(context.Background(), 15*time.Second, 50*time.Millisecond, func() error {
		if p.exited() {
			return fmt.Errorf("exporter exited: %v: %s", p.err, tail(p.stderr.String(), 2000))
		}
		m := listeningRE.FindStringSubmatch(p.stderr.String())
		if m == nil {
			return fmt.Errorf("no listening line yet")
		}
		e.Addr = m[1]
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// configPath is the --config file the exporter was started with.
func (e *exporterProc) configPath() string { return e.proc.cmd.Args[3] }

// selfSignedCert writes a certificate for 127.0.0.1 that is its own CA,
// and its key, to dir.
func selfSignedCert(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "iperfmon e2e"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// tlsConfigTrusting trusts only the certificate in certFile.
func tlsConfigTrusting(t testing.TB, certFile string) *tls.Config {
	t.Helper()
	b, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("no certificate in %s", certFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// ruleHealth maps each alerting rule Prometheus loaded to its health ("ok"
// once evaluated without error).
func (p *prometheus) ruleHealth() (map[string]string, error) {
	resp, err := httpClient.Get(p.URL + "/api/v1/rules")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name   string `json:"name"`
					Health string `json:"health"`
					Error  string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, g := range body.Data.Groups {
		for _, r := range g.Rules {
			out[r.Name] = r.Health + r.Error
		}
	}
	return out, nil
}
