package main

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/iperfmon/iperfmon/internal/stockiperf"
	"github.com/stretchr/testify/require"
)

// iperf3Option is one option of `iperf3 --help`.
type iperf3Option struct {
	short, long string
	client      bool // in "Server or Client" or "Client specific"
	server      bool // in "Server or Client" or "Server specific"
}

var helpOption = regexp.MustCompile(`^\s+(?:-([^-\s,]), )?--([a-z0-9-]+)`)

// stockOptions reads every option from stock iperf3's --help.
func stockOptions(t *testing.T, help string) []iperf3Option {
	t.Helper()
	var opts []iperf3Option
	section := ""
	sc := bufio.NewScanner(strings.NewReader(help))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Server or Client"), strings.HasPrefix(line, "Server specific"), strings.HasPrefix(line, "Client specific"):
			section = line
			continue
		}
		m := helpOption.FindStringSubmatch(line)
		if m == nil || section == "" {
			continue
		}
		opts = append(opts, iperf3Option{short: m[1], long: m[2],
			client: !strings.HasPrefix(section, "Server specific"),
			server: !strings.HasPrefix(section, "Client specific")})
	}
	require.Greater(t, len(opts), 60, "options found in iperf3 --help:\n%s", help)
	return opts
}

// TestEveryIperf3OptionAccountedFor: every option of stock 3.22's --help
// is in docs/cli.md's table and is known to our client and server parsers
// where iperf3 has it (accepted or refused with a reason, never "unknown
// flag").
func TestEveryIperf3OptionAccountedFor(t *testing.T) {
	bin := stockiperf.Binary(t, stockiperf.Latest())
	help, err := exec.Command(bin, "--help").CombinedOutput()
	require.NoError(t, err)
	doc, err := os.ReadFile("../../docs/cli.md")
	require.NoError(t, err)
	table := string(doc)[strings.Index(string(doc), "## iperf3 3.22 options"):]
	for _, o := range stockOptions(t, string(help)) {
		t.Run(o.long, func(t *testing.T) {
			row := "`--" + o.long
			if o.short != "" {
				row = "`-" + o.short + ", --" + o.long
			}
			require.Contains(t, table, "| "+row, "docs/cli.md's iperf3 option table has no row for %s", row)
			if o.long == "version" || o.long == "help" {
				return // handled before a mode is chosen
			}
			for _, mode := range []struct {
				name string
				has  bool
				args []string
			}{
				{"client", o.client, []string{"-c", "h"}},
				{"server", o.server, []string{"-s"}},
			} {
				if !mode.has || o.long == "server" || o.long == "client" {
					continue
				}
				forms := [][]string{{"--" + o.long + "=1"}}
				if o.short != "" {
					forms = append(forms, []string{"-" + o.short, "1"})
				}
				for _, form := range forms {
					args := append(append(append([]string{}, mode.args...), form...), "--help")
					_, stderr, _ := runApp(t, nil, args...)
					require.NotContains(t, stderr, "unknown flag", "%s %v", mode.name, form)
				}
			}
		})
	}
}
