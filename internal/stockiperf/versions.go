package stockiperf

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/iperfmon/iperfmon/internal/testenv"
)

// Version is one stock iperf3 release the interop suites run against.
type Version struct {
	Name string // "3.12"
	// Env names the variable holding the binary's path (set by
	// scripts/test.sh from scripts/stock-iperf3.sh); "" means the
	// installed iperf3 in PATH.
	Env string
	// Suite is the Debian suite scripts/stock-iperf3.sh fetches it from.
	Suite string
	// Full is false for a version that gets only a short matrix (CI time).
	Full bool
}

// Versions are Debian bookworm's 3.12 (installed), trixie's 3.18 and sid's
// 3.22: the oldest and newest in full, the one between briefly.
var Versions = []Version{
	{Name: "3.12", Suite: "bookworm", Full: true},
	{Name: "3.18", Env: "IPERFMON_IPERF3_318", Suite: "trixie"},
	{Name: "3.22", Env: "IPERFMON_IPERF3_322", Suite: "sid", Full: true},
}

// Threaded reports whether v runs a thread per stream (3.16 and later):
// its exchanged counts are then snapshots its threads may write past.
func (v Version) Threaded() bool { return v.Name != "3.12" }

// Latest is the newest version, whose --help and -J the drop-in is held to.
func Latest() Version { return Versions[len(Versions)-1] }

// Binary returns the path of v's iperf3, or skips the test loudly (fails
// it when CI=true) naming the variable and how to set it.
func Binary(tb testing.TB, v Version) string {
	tb.Helper()
	if v.Env == "" {
		return testenv.RequireTool(tb, "iperf3")
	}
	p := os.Getenv(v.Env)
	if p == "" {
		testenv.Unavailable(tb, "!!! stock iperf3 %s NOT TESTED: %s is unset (export %s=$(bash scripts/stock-iperf3.sh %s); scripts/test.sh does this)",
			v.Name, v.Env, v.Env, v.Suite)
		return ""
	}
	out, err := exec.Command(p, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "iperf "+v.Name) {
		testenv.Unavailable(tb, "!!! stock iperf3 %s NOT TESTED: %s=%s does not run as iperf %s: %v %q",
			v.Name, v.Env, p, v.Name, err, firstLine(out))
		return ""
	}
	return p
}

// Each runs f as a subtest per version (named "iperf3-3.12" and so on),
// with the version's binary; a version without one is skipped loudly. f
// keeps to a short matrix when v.Full is false.
func Each(t *testing.T, f func(t *testing.T, v Version, bin string)) {
	t.Helper()
	for _, v := range Versions {
		t.Run("iperf3-"+v.Name, func(t *testing.T) {
			f(t, v, Binary(t, v))
		})
	}
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return s
}
