//go:build linux

package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// parseUnit returns the key=value settings of a systemd unit file by section;
// repeated keys keep every value.
func parseUnit(t *testing.T, text string) map[string]map[string][]string {
	t.Helper()
	units := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			units[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			require.True(t, ok, "line %d: %q is not key=value", n, line)
			require.NotEmpty(t, section, "line %d: key outside a section", n)
			units[section][k] = append(units[section][k], v)
		}
	}
	return units
}

func TestExampleSystemdUnits(t *testing.T) {
	// Settings every unit must carry, with the value required.
	hardening := map[string]string{
		"DynamicUser":             "yes",
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"ProtectKernelTunables":   "yes",
		"ProtectKernelModules":    "yes",
		"ProtectControlGroups":    "yes",
		"RestrictNamespaces":      "yes",
		"RestrictSUIDSGID":        "yes",
		"LockPersonality":         "yes",
		"MemoryDenyWriteExecute":  "yes",
		"RestrictAddressFamilies": "AF_INET AF_INET6",
		"CapabilityBoundingSet":   "",
		"SystemCallArchitectures": "native",
	}
	tests := []struct {
		file string
		mode string // iperfmon mode in ExecStart
	}{
		{"iperfmon-server.service", "server"},
		{"iperfmon-run.service", "run"},
		{"iperfmon-exporter.service", "exporter"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			text := readExample(t, "systemd/"+tc.file)
			unit := parseUnit(t, text)
			svc := unit["Service"]
			require.NotNil(t, svc, "no [Service] section")
			require.NotNil(t, unit["Install"], "no [Install] section")
			for k, want := range hardening {
				require.Contains(t, svc, k, "hardening setting %s missing", k)
				require.Equal(t, want, svc[k][len(svc[k])-1], "%s", k)
			}
			require.Len(t, svc["ExecStart"], 1)
			argv := strings.Fields(svc["ExecStart"][0])
			require.Equal(t, "/usr/local/bin/iperfmon", argv[0])
			require.Equal(t, tc.mode, argv[1])
			if tc.mode == "run" {
				require.Equal(t, []string{"--config", "/etc/iperfmon/iperfmon.toml"}, argv[2:])
			}
			checkFlagsKnown(t, tc.mode, argv[2:])
			systemdVerify(t, tc.file, text)
		})
	}
}

// systemdVerify runs systemd-analyze on a copy of the unit whose ExecStart
// points at an existing binary: verify must print nothing about the unit
// (it only warns on unknown keys and bad values), and the offline security
// score must stay at "OK" or better (≤ 2.0 of 10).
func systemdVerify(t *testing.T, name, text string) {
	t.Helper()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not available: checked the unit's settings only")
		return
	}
	bin := iperfmonBin(t)
	dir := t.TempDir()
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, []byte(strings.ReplaceAll(text, "/usr/local/bin/iperfmon", bin)), 0o644))

	out, code := runCmd(t, time.Minute, dir, nil, analyze, "verify", path)
	require.Equal(t, 0, code, "systemd-analyze verify:\n%s", out)
	for line := range strings.SplitSeq(out, "\n") {
		require.NotContains(t, line, name, "systemd-analyze verify complains about the unit:\n%s", out)
	}

	out, code = runCmd(t, time.Minute, dir, nil, analyze, "security", "--offline=true", path)
	if code != 0 && strings.Contains(out, "offline") {
		t.Logf("systemd-analyze security --offline not supported: %s", out)
		return
	}
	require.Equal(t, 0, code, "systemd-analyze security:\n%s", out)
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindStringSubmatch(out)
	require.NotNil(t, m, "no exposure level in:\n%s", out)
	level, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	require.LessOrEqual(t, level, 2.0, "exposure level %v:\n%s", level, out)
}
