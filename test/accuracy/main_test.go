//go:build linux

package accuracy

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

var update = flag.Bool("update", false, "rewrite the results table in docs/accuracy.md from this run")

var (
	// iperfmonPath is the binary TestMain built, "" when the repository has
	// no cmd/iperfmon yet (then only stock iperf3 is checked against the
	// truths, which calibrates the harness).
	iperfmonPath string
	iperfmonWhy  string // why there is no iperfmon, for the logs
	buildErr     error
)

func TestMain(m *testing.M) {
	flag.Parse()
	tmp, err := os.MkdirTemp("", "iperfmon-accuracy-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildIperfmon(tmp)
	start := time.Now()
	code := func() int {
		defer netnstest.RemoveOwn(nsPrefix) // namespaces whose test cleanup did not run
		return m.Run()
	}()
	os.RemoveAll(tmp)
	if report.len() > 0 {
		report.print(os.Stdout, time.Since(start))
		if *update {
			if err := report.writeDoc(filepath.Join(repoRoot(), "docs", "accuracy.md")); err != nil {
				fmt.Fprintln(os.Stderr, "update docs/accuracy.md:", err)
				code = 1
			}
		}
	}
	os.Exit(code)
}

// repoRoot is the module root: tests run in test/accuracy.
func repoRoot() string {
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	return root
}

// buildIperfmon builds ./cmd/iperfmon into dir, as the suite's subject.
// ACCURACY_IPERFMON=PATH uses a binary built elsewhere instead, and
// ACCURACY_IPERFMON=none checks stock iperf3 alone (to calibrate the harness).
func buildIperfmon(dir string) {
	switch v := os.Getenv("ACCURACY_IPERFMON"); v {
	case "":
	case "none":
		iperfmonWhy = "ACCURACY_IPERFMON=none: checking stock iperf3 against the truths only"
		return
	default:
		if _, err := os.Stat(v); err != nil {
			buildErr = fmt.Errorf("ACCURACY_IPERFMON=%s: %w (want a path to an iperfmon binary, or none)", v, err)
			return
		}
		iperfmonPath = v
		return
	}
	root := repoRoot()
	if _, err := os.Stat(filepath.Join(root, "cmd", "iperfmon")); err != nil {
		iperfmonWhy = "cmd/iperfmon does not exist yet: checking stock iperf3 against the truths only"
		return
	}
	out := filepath.Join(dir, "iperfmon")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/iperfmon")
	c.Dir = root
	c.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := c.CombinedOutput(); err != nil {
		buildErr = fmt.Errorf("go build ./cmd/iperfmon: %w\n%s", err, b)
		return
	}
	iperfmonPath = out
}

// subjects returns the reference pair (stock iperf3 on both ends) and, when
// iperfmon was built, ours (iperfmon on both ends; nil otherwise). A failed
// build fails the test.
func subjects(t *testing.T, l *link) (ref pair, ours *pair) {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	stock := iperf3Tool(l.tl.iperf3)
	ref = pair{stock, stock}
	if iperfmonPath == "" {
		t.Log(iperfmonWhy)
		return ref, nil
	}
	im := iperfmonTool(iperfmonPath)
	return ref, &pair{im, im}
}
