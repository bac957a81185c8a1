package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "iperfmon.toml")
	require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
	return p
}

func TestScheduleModesBadConfig(t *testing.T) {
	unknownKey := writeConfig(t, "[[inputs.iperf3]]\n  servers = [\"127.0.0.1\"]\n  durration = \"1s\"\n")
	noSchedule := writeConfig(t, "[[inputs.iperf3]]\n  servers = [\"127.0.0.1\"]\n")
	empty := writeConfig(t, "# nothing\n")
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"unknown key", []string{"once", "--config", unknownKey}, `line 3: durration = "1s": unknown key (did you mean "duration"?)`},
		{"missing file", []string{"once", "--config", "/nonexistent/iperfmon.toml"}, "/nonexistent/iperfmon.toml"},
		{"no tables", []string{"once", "--config", empty}, "no [[inputs.iperf3]] table; add at least one"},
		{"run without schedule", []string{"run", "--config", noSchedule}, "schedule is empty; run needs one"},
		{"unknown flag", []string{"run", "--confg", "x"}, "E! iperfmon run: unknown flag --confg (see iperfmon run --help)"},
		{"extra args", []string{"once", "x"}, `E! iperfmon once: unexpected arguments ["x"]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runApp(t, nil, tc.args...)
			require.Equal(t, exitUsage, code, stderr)
			require.Contains(t, stderr, tc.want)
			require.Empty(t, stdout)
		})
	}
}

// A table with an alias and no servers is an exporter module: once and run
// accept the file and have nothing to test in it.
func TestScheduleModesSkipModuleTables(t *testing.T) {
	module := writeConfig(t, "[[inputs.iperf3]]\n  alias = \"wan\"\n  parallel = 4\n")
	stdout, stderr, code := runApp(t, nil, "once", "--config", module)
	require.Equal(t, exitOK, code, stderr)
	require.Empty(t, stdout)
	require.NotContains(t, stderr, "E! ")
}
