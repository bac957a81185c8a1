package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/iperfmon/iperfmon/internal/stockiperf"
	"github.com/stretchr/testify/require"
)

// helpExamples returns the commands of a usage text's Examples section as
// argument lists (without "iperfmon"): continuation lines joined, the
// description after two or more spaces and shell redirections dropped.
func helpExamples(t *testing.T, text string) [][]string {
	t.Helper()
	_, ex, ok := strings.Cut(text, "\nExamples:\n")
	require.True(t, ok, "no Examples section in:\n%s", text)
	var cmds [][]string
	cur := ""
	for _, l := range strings.Split(ex, "\n") {
		l = strings.TrimSpace(l)
		if cur != "" {
			l = cur + " " + l
			cur = ""
		}
		if strings.HasSuffix(l, `\`) {
			cur = strings.TrimSpace(strings.TrimSuffix(l, `\`))
			continue
		}
		if l == "" {
			continue
		}
		cmd := regexp.MustCompile(`\s{2,}`).Split(l, 2)[0]
		cmd, _, _ = strings.Cut(cmd, " > ")
		f := strings.Fields(cmd)
		require.Equal(t, "iperfmon", f[0], "example %q", l)
		cmds = append(cmds, f[1:])
	}
	require.Empty(t, cur, "an example ends with a continuation")
	require.NotEmpty(t, cmds)
	return cmds
}

// Every example in every mode's --help parses: with --help appended, a
// known flag set prints the help (exit 0), an unknown flag or a bad value
// is a usage error.
func TestHelpExamplesParse(t *testing.T) {
	for mode, text := range map[string]string{"client": usageClient, "server": usageServer, "once": usageOnce,
		"run": usageRun, "check": usageCheck, "exporter": usageExporter, "version": usageVersion} {
		for _, args := range helpExamples(t, text) {
			t.Run(mode+" "+strings.Join(args, " "), func(t *testing.T) {
				stdout, stderr, code := runApp(t, nil, append(args, "--help")...)
				require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
				require.Contains(t, stdout, "Usage: iperfmon "+mode)
			})
		}
	}
}

// The client and check examples also pass their semantic checks: run
// against a closed loopback port, they fail as a test (client exit 1,
// check CRITICAL), not as bad usage.
func TestHelpExamplesRun(t *testing.T) {
	dead := strconv.Itoa(stockiperf.FreePort(t))
	hosts := regexp.MustCompile(`^(iperf\.example\.net|192\.0\.2\.\d+)$`)
	for mode, want := range map[string]int{"client": exitFail, "check": nagiosCritical} {
		text := map[string]string{"client": usageClient, "check": usageCheck}[mode]
		for _, args := range helpExamples(t, text) {
			t.Run(mode+" "+strings.Join(args, " "), func(t *testing.T) {
				args := append([]string(nil), args...)
				for i, a := range args {
					if hosts.MatchString(a) {
						args[i] = "127.0.0.1" // never the example's hosts
					}
				}
				require.Contains(t, args, "127.0.0.1", "the example names no host")
				args = append(args, "-p", dead, "--connect-timeout", "2s")
				stdout, stderr, code := runApp(t, nil, args...)
				require.Equal(t, want, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
				if mode == "check" {
					require.Contains(t, stdout, "result=connection_failed")
				}
			})
		}
	}
}
