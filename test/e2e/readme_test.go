//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// readmeCommands returns the commands of the sh blocks in README's "Try it"
// section: the set-up-and-run command and the test command.
func readmeCommands(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	text := string(b)
	i := strings.Index(text, "\n## Try it")
	require.GreaterOrEqual(t, i, 0, "README has no Try it section")
	section := text[i+1:]
	if j := strings.Index(section, "\n## "); j >= 0 {
		section = section[:j]
	}
	var cmds []string
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1) {
		cmds = append(cmds, strings.TrimSpace(m[1]))
	}
	return cmds
}

// README's two commands are the ones the project actually uses: CI runs the
// second exactly, and the first runs setup and `iperfmon once`.
func TestReadmeCommands(t *testing.T) {
	cmds := readmeCommands(t)
	require.Len(t, cmds, 2, "README's Try it has exactly two commands")
	require.Equal(t, "bash scripts/setup.sh && go run ./cmd/iperfmon once", cmds[0])
	require.Equal(t, "bash scripts/test.sh", cmds[1])

	ci, err := os.ReadFile(filepath.Join(repoRoot(t), ".ci", "run"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(ci)), "\n")
	require.Equal(t, cmds[1], strings.TrimSpace(lines[len(lines)-1]), ".ci/run ends with README's test command")
}

// `iperfmon once` without --config (README's first command) measures an
// embedded loopback server and prints line protocol for both directions.
func TestReadmeOnceWithoutConfig(t *testing.T) {
	bin := iperfmonBin(t)
	out, code := runCmd(t, 2*time.Minute, t.TempDir(), nil, bin, "once")
	require.Equal(t, 0, code, "iperfmon once:\n%s", out)
	for _, dir := range []string{"forward", "reverse"} {
		found := false
		for line := range strings.SplitSeq(out, "\n") {
			tags, fields, _ := strings.Cut(line, " ")
			if strings.HasPrefix(tags, "iperf3,") && strings.Contains(tags+",", ",direction="+dir+",") &&
				strings.Contains(tags+",", ",result=success,") && strings.Contains(fields, "bits_per_second=") {
				found = true
			}
		}
		require.True(t, found, "no successful %s point in:\n%s", dir, out)
	}
}
