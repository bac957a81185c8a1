//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/iperfmon/iperfmon/internal/testenv"
)

// requireTelegraf returns the Telegraf binary named by IPERFMON_TELEGRAF.
func requireTelegraf(t testing.TB) string {
	t.Helper()
	p := os.Getenv("IPERFMON_TELEGRAF")
	if p == "" {
		testenv.Unavailable(t, "IPERFMON_TELEGRAF is not set (build one with: export IPERFMON_TELEGRAF=$(bash scripts/build-telegraf.sh))")
		return ""
	}
	if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
		t.Fatalf("IPERFMON_TELEGRAF=%s is not an executable file: %v", p, err)
	}
	return p
}

// repoRoot is the module root: go test runs in the package directory,
// two levels below it.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// examplePath returns the path of a file under examples/.
func examplePath(t testing.TB, rel string) string {
	t.Helper()
	return filepath.Join(repoRoot(t), "examples", filepath.FromSlash(rel))
}

// readExample returns the contents of a file under examples/.
func readExample(t testing.TB, rel string) string {
	t.Helper()
	b, err := os.ReadFile(examplePath(t, rel))
	if err != nil {
		t.Fatalf("read example: %v", err)
	}
	return string(b)
}

// requireTelegrafWithPlugin returns the Telegraf binary with [[inputs.iperf3]]
// compiled in, named by IPERFMON_TELEGRAF_IPERF3
// (scripts/build-telegraf.sh --with-iperfmon builds one).
func requireTelegrafWithPlugin(t testing.TB) string {
	t.Helper()
	p := os.Getenv("IPERFMON_TELEGRAF_IPERF3")
	if p == "" {
		testenv.Unavailable(t, "IPERFMON_TELEGRAF_IPERF3 is not set (build one with: export IPERFMON_TELEGRAF_IPERF3=$(bash scripts/build-telegraf.sh --with-iperfmon))")
		return ""
	}
	if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
		t.Fatalf("IPERFMON_TELEGRAF_IPERF3=%s is not an executable file: %v", p, err)
	}
	return p
}
