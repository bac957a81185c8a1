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
	binSkip string // why there is no binary to build
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
	if _, err := os.Stat(filepath.Join(root, "cmd", "iperfmon")); err != nil {
		binSkip = "cmd/iperfmon does not exist yet"
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

// iperfmonBin returns the built iperfmon binary; it skips the test when the
// repository has no cmd/iperfmon yet and fails when the build fails.
func iperfmonBin(t testing.TB) string {
	t.Helper()
	binOnce.Do(buildIperfmon)
	if binSkip != "" {
		t.Skip(binSkip)
	}
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// standIn is what cmd/iperfmon prints for a mode whose engine has not
// landed yet (a temporary stand-in, see cmd/iperfmon/pending.go).
const standIn = "not available in this build yet"

var (
	standInMu    sync.Mutex
	standInModes = map[string]bool{}
)

// isStandIn reports whether MODE is still a stand-in: it is given an unknown
// flag, which a real mode rejects as bad usage without doing anything.
func isStandIn(t testing.TB, bin, mode string) bool {
	t.Helper()
	standInMu.Lock()
	defer standInMu.Unlock()
	if v, ok := standInModes[mode]; ok {
		return v
	}
	out, _ := runCmd(t, 30*time.Second, "", nil, bin, mode, "--iperfmon-e2e-unknown-flag")
	standInModes[mode] = strings.Contains(out, standIn)
	return standInModes[mode]
}

// requireMode returns the binary, skipping the test while MODE is a stand-in.
func requireMode(t testing.TB, mode string) string {
	t.Helper()
	bin := iperfmonBin(t)
	if isStandIn(t, bin, mode) {
		t.Skipf("iperfmon %s is still a stand-in (%q); this test runs once it lands", mode, standIn)
	}
	return bin
}

// iperfmonIfBuilt returns the binary, or "" when there is none to build.
func iperfmonIfBuilt() string {
	binOnce.Do(buildIperfmon)
	return binPath
}

// checkFlagsKnown fails when args use a flag that `iperfmon MODE --help`
// does not mention, so that examples cannot drift from the binary.
// Without a binary (cmd/iperfmon not there yet) it only logs.
func checkFlagsKnown(t *testing.T, mode string, args []string) {
	t.Helper()
	bin := iperfmonIfBuilt()
	if bin == "" {
		if binErr != nil {
			t.Fatal(binErr)
		}
		t.Logf("no iperfmon binary (%s): flags %v not checked against --help", binSkip, args)
		return
	}
	if isStandIn(t, bin, mode) {
		t.Logf("iperfmon %s is still a stand-in: flags %v not checked against --help", mode, args)
		return
	}
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
