// Package testenv finds the programs tests need and decides what a missing
// one means: a skip on a developer's machine, a failure in CI, which must
// never pass by silently skipping a suite.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// InCI reports whether CI is set (to anything but "", "false" or "0").
func InCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

// Unavailable skips the test, or fails it in CI.
func Unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if InCI() {
		tb.Fatalf("CI=true and "+format, args...)
	}
	tb.Skipf(format, args...)
}

// LookTool finds a program in PATH or in the sbin directories, which a
// non-login root shell may not have in PATH.
func LookTool(name string) (string, bool) {
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

// RequireTool returns the path of a program the test needs, or skips
// (fails in CI) when it is missing.
func RequireTool(tb testing.TB, name string) string {
	tb.Helper()
	p, ok := LookTool(name)
	if !ok {
		Unavailable(tb, "%s not found (install it with: bash scripts/setup.sh)", name)
	}
	return p
}
