//go:build linux

package accuracy

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// inCI reports whether a missing prerequisite must fail instead of skip:
// CI must never pass by silently skipping the accuracy suite.
func inCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

// unavailable skips the test, or fails it under CI.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if inCI() {
		t.Fatalf("CI=true and "+format, args...)
	}
	t.Skipf(format, args...)
}

// lookTool finds a program in PATH or in the sbin directories, which a
// non-login root shell may not have in PATH.
func lookTool(name string) (string, bool) {
	if p, err := exec.LookPath(name); err == nil {
		return p, true
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

// tools holds the absolute paths of the programs the suite runs.
type tools struct {
	ip, tc, nft, ss, nice, iperf3 string
}

// requireTools returns the programs the suite needs, skipping (or failing in
// CI) when one is missing or when we are not root.
func requireTools(t testing.TB) tools {
	t.Helper()
	if os.Geteuid() != 0 {
		unavailable(t, "the accuracy suite needs root for network namespaces, tc and nftables (run: sudo go test ./test/accuracy/)")
	}
	var tl tools
	for _, x := range []struct {
		name string
		dst  *string
	}{{"ip", &tl.ip}, {"tc", &tl.tc}, {"nft", &tl.nft}, {"ss", &tl.ss}, {"nice", &tl.nice}, {"iperf3", &tl.iperf3}} {
		p, ok := lookTool(x.name)
		if !ok {
			unavailable(t, "%s not found (install it with: bash scripts/setup.sh; packages iproute2, nftables, iperf3)", x.name)
		}
		*x.dst = p
	}
	return tl
}
