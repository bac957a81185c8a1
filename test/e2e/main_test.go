//go:build linux

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	tmpRoot string // removed after all tests

	binOnce sync.Once
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	var err error
	tmpRoot, err = os.MkdirTemp("", "iperfmon-e2e-")
	if err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

// buildIperfmon builds ./cmd/iperfmon once per test run (static, as shipped).
func buildIperfmon() {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		binErr = err
		return
	}
	out := filepath.Join(tmpRoot, "bin", "iperfmon")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/iperfmon")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		binErr = &buildError{err: err, out: string(b)}
		return
	}
	binPath = out
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string {
	return "go build ./cmd/iperfmon: " + e.err.Error() + "\n" + e.out
}

// iperfmonBin returns the built iperfmon binary; it fails the test when the
// build fails.
func iperfmonBin(t testing.TB) string {
	t.Helper()
	binOnce.Do(buildIperfmon)
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// checkFlagsKnown fails when args use a flag that `iperfmon MODE --help`
// does not mention, so that examples cannot drift from the binary.
func checkFlagsKnown(t *testing.T, mode string, args []string) {
	t.Helper()
	bin := iperfmonBin(t)
	help, _ := runCmd(t, 30*time.Second, "", nil, bin, mode, "--help")
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, _ := strings.Cut(a, "=")
		re := regexp.MustCompile(`(^|[\s,\[])` + regexp.QuoteMeta(name) + `($|[\s,=\]])`)
		if !re.MatchString(help) {
			t.Errorf("flag %s is not documented in `iperfmon %s --help`:\n%s", name, mode, help)
		}
	}
}
