//go:build linux

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// inCI reports whether missing tools must fail tests instead of skipping them.
func inCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

// unavailable skips the test, or fails it under CI where everything the
// suite needs is installed by .ci/run.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if inCI() {
		t.Fatalf("CI=true and "+format, args...)
	}
	t.Skipf(format, args...)
}

// requireTool returns the path of a program in PATH (sbin included).
func requireTool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	unavailable(t, "%s not found (install it with: bash scripts/setup.sh)", name)
	return ""
}

// requireTelegraf returns the Telegraf binary named by IPERFMON_TELEGRAF.
func requireTelegraf(t testing.TB) string {
	t.Helper()
	p := os.Getenv("IPERFMON_TELEGRAF")
	if p == "" {
		unavailable(t, "IPERFMON_TELEGRAF is not set (build one with: export IPERFMON_TELEGRAF=$(bash scripts/build-telegraf.sh))")
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
		unavailable(t, "IPERFMON_TELEGRAF_IPERF3 is not set (build one with: export IPERFMON_TELEGRAF_IPERF3=$(bash scripts/build-telegraf.sh --with-iperfmon))")
		return ""
	}
	if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
		t.Fatalf("IPERFMON_TELEGRAF_IPERF3=%s is not an executable file: %v", p, err)
	}
	return p
}
