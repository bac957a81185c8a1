//go:build linux

package fleet

import (
	"context"
	"flag"
	"fmt"
	"github.com/iperfmon/iperfmon/internal/netnstest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// iperfmonPath is the binary under test, built once by TestMain.
var (
	iperfmonPath string
	buildErr     error
)

func TestMain(m *testing.M) {
	flag.Parse()
	tmp, err := os.MkdirTemp("", "iperfmon-fleet-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if !testing.Short() {
		iperfmonPath, buildErr = build(tmp)
	}
	code := func() int {
		defer netnstest.RemoveOwn(nsPrefix) // namespaces whose test cleanup did not run
		return m.Run()
	}()
	os.RemoveAll(tmp)
	os.Exit(code)
}

func build(dir string) (string, error) {
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	out := filepath.Join(dir, "iperfmon")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/iperfmon")
	c.Dir = root
	c.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := c.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/iperfmon: %w\n%s", err, b)
	}
	return out, nil
}
