//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/config"
	"github.com/iperfmon/iperfmon/internal/testenv"
)

// readmeSection returns the text of README's "## NAME" section.
func readmeSection(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	text := string(b)
	i := strings.Index(text, "\n## "+name+"\n")
	require.GreaterOrEqual(t, i, 0, "README has no %q section", name)
	section := text[i+1:]
	if j := strings.Index(section[1:], "\n## "); j >= 0 {
		section = section[:j+1]
	}
	return section
}

// codeBlocks returns the fenced blocks of one language in text.
func codeBlocks(text, lang string) []string {
	var out []string
	for _, m := range regexp.MustCompile("(?s)```"+lang+"\n(.*?)```").FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	return out
}

// shellCommands splits a sh block into commands: continuation lines joined,
// comments and blank lines dropped.
func shellCommands(block string) []string {
	var cmds []string
	cur := ""
	for l := range strings.SplitSeq(block, "\n") {
		l = strings.TrimSpace(l)
		if cur != "" {
			l, cur = cur+" "+l, ""
		}
		if strings.HasSuffix(l, `\`) {
			cur = strings.TrimSpace(strings.TrimSuffix(l, `\`))
			continue
		}
		if l != "" && !strings.HasPrefix(l, "#") {
			cmds = append(cmds, l)
		}
	}
	return cmds
}

// settings returns the trimmed non-comment lines of a TOML table: from the
// line equal to header up to the next table header.
func settings(t *testing.T, text, header string) []string {
	t.Helper()
	var out []string
	in := false
	for l := range strings.SplitSeq(text, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == header:
			in = true
		case strings.HasPrefix(l, "["):
			in = false
		case in && l != "" && !strings.HasPrefix(l, "#"):
			out = append(out, l)
		}
	}
	require.NotEmpty(t, out, "no %s table in:\n%s", header, text)
	return out
}

// The Install section's build command gives a static binary, and the
// go install path is the module's.
func TestReadmeInstall(t *testing.T) {
	section := readmeSection(t, "Install")
	var build string
	var install bool
	for _, b := range codeBlocks(section, "sh") {
		for _, c := range shellCommands(b) {
			switch {
			case strings.HasPrefix(c, "CGO_ENABLED=0 go build "):
				build = c
			case c == "go install github.com/iperfmon/iperfmon/cmd/iperfmon@latest":
				install = true
			}
		}
	}
	require.True(t, install, "README's go install line changed")
	require.NotEmpty(t, build, "README has no CGO_ENABLED=0 go build line")
	gomod, err := os.ReadFile(filepath.Join(repoRoot(t), "go.mod"))
	require.NoError(t, err)
	require.Regexp(t, `(?m)^module github\.com/iperfmon/iperfmon$`, string(gomod))

	out := filepath.Join(t.TempDir(), "iperfmon")
	build = replaceAll(t, build, "-o iperfmon ", "-o "+out+" ")
	log, code := runCmd(t, 5*time.Minute, repoRoot(t), nil, "/bin/sh", "-c", build)
	require.Equal(t, 0, code, "%s\n%s", build, log)

	testenv.RequireStatic(t, out) // README's build
	ver, code := runCmd(t, 30*time.Second, "", nil, out, "version")
	require.Equal(t, 0, code, ver)
	require.True(t, strings.HasPrefix(ver, "iperfmon "), ver)
}

// The Quick start's TOML snippets are the examples' tables: the iperfmon
// config parses, and the Telegraf inputs carry exactly the settings of
// examples/telegraf-exec{,d}.conf (which the pipeline tests run).
func TestReadmeQuickStart(t *testing.T) {
	section := readmeSection(t, "Quick start with Telegraf")
	blocks := codeBlocks(section, "toml")
	require.Len(t, blocks, 3, "iperfmon.toml, execd and exec snippets")
	found := map[string]bool{}
	for _, b := range blocks {
		switch {
		case strings.Contains(b, "[[inputs.iperf3]]"):
			tables, err := config.Parse([]byte(b))
			require.NoError(t, err, "%s", b)
			require.Len(t, tables, 1)
			require.Len(t, tables[0].Targets(), 2, "one server, forward and reverse")
			found["iperf3"] = true
		case strings.Contains(b, "[[inputs.execd]]"):
			require.ElementsMatch(t, settings(t, readExample(t, "telegraf-execd.conf"), "[[inputs.execd]]"),
				settings(t, b, "[[inputs.execd]]"), "README's execd table differs from examples/telegraf-execd.conf")
			found["execd"] = true
		case strings.Contains(b, "[[inputs.exec]]"):
			require.ElementsMatch(t, settings(t, readExample(t, "telegraf-exec.conf"), "[[inputs.exec]]"),
				settings(t, b, "[[inputs.exec]]"), "README's exec table differs from examples/telegraf-exec.conf")
			found["exec"] = true
		}
	}
	require.Len(t, found, 3, "%v", found)
	m := regexp.MustCompile("`_ \"(github.com/iperfmon/iperfmon/[^\"]+)\"`").FindStringSubmatch(section)
	require.NotNil(t, m, "no plugin import line")
	_, err := os.Stat(filepath.Join(repoRoot(t), strings.TrimPrefix(m[1], "github.com/iperfmon/iperfmon/")))
	require.NoError(t, err, "the plugin import path %s", m[1])
}

// The SLA section's commands run as written against a loopback server
// (host, port and duration replaced): a Nagios state with perfdata, never
// a usage error.
func TestReadmeSLAChecks(t *testing.T) {
	section := readmeSection(t, "SLA checks from cron")
	var cmds []string
	for _, b := range codeBlocks(section, "sh") {
		cmds = append(cmds, shellCommands(b)...)
	}
	require.Len(t, cmds, 3)
	srv := startIperfmonServer(t)
	state := filepath.Join(t.TempDir(), "wan.json")
	for i, c := range cmds {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			f := strings.Fields(c)
			require.Equal(t, []string{"iperfmon", "check"}, f[:2], "%s", c)
			args := f[2:]
			checkFlagsKnown(t, "check", args)
			for j, a := range args {
				if a == "iperf.example.net" {
					args[j] = "127.0.0.1"
				}
				if j > 0 && args[j-1] == "--baseline-file" {
					args[j] = state
				}
			}
			require.Equal(t, "127.0.0.1", args[0])
			out, code := runCheck(t, append(args, "-p", strconv.Itoa(srv.Port), "-t", "1")...)
			require.Contains(t, []int{nagiosOK, nagiosWarning, nagiosCritical}, code, "%s\n%s", c, out)
			require.Contains(t, summaryLine(t, out), "|", "perfdata")
			require.NotContains(t, out, "result=", "the test itself failed:\n%s", out)
		})
	}
}

// Every relative link in README points at a file or directory that exists.
func TestReadmeLinks(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	for _, m := range regexp.MustCompile(`\]\(([^)#:]+)(#[^)]*)?\)`).FindAllStringSubmatch(string(b), -1) {
		_, err := os.Stat(filepath.Join(repoRoot(t), m[1]))
		require.NoError(t, err, "README links to %s", m[1])
	}
}

// The Prometheus quick start: the table is a module table that parses, the
// command uses known flags, and the scrape job is the example's, which
// TestExporterWithPrometheus runs.
func TestReadmeQuickStartPrometheus(t *testing.T) {
	section := readmeSection(t, "Quick start with Prometheus")
	toml := codeBlocks(section, "toml")
	require.Len(t, toml, 1)
	tables, err := config.Parse([]byte(toml[0]))
	require.NoError(t, err)
	require.Len(t, tables, 1)
	require.NotEmpty(t, tables[0].Alias)

	cmds := shellCommands(strings.Join(codeBlocks(section, "sh"), "\n"))
	require.Len(t, cmds, 1)
	f := strings.Fields(cmds[0])
	require.Equal(t, []string{"iperfmon", "exporter"}, f[:2])
	checkFlagsKnown(t, "exporter", f[2:])

	yaml := codeBlocks(section, "yaml")
	require.Len(t, yaml, 1)
	require.Contains(t, readExample(t, "prometheus/prometheus.yml"), yaml[0], "README's scrape job is not the one in examples/prometheus/prometheus.yml")
	require.Contains(t, yaml[0], "module: ["+tables[0].Alias+"]")
}
