//go:build linux

package e2e

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"github.com/iperfmon/iperfmon/internal/testenv"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// No container engine runs in CI, so the Dockerfile is checked as far as a
// file can be: its instructions are parsed and checked stage by stage, and
// its `go build` line is run as `docker build` would run it (/bin/sh -c, in
// the source tree, with the build arguments in the environment); the binary
// must be static, stripped of this machine's paths, and carry the time-zone
// database that a FROM scratch image lacks.
func TestDockerfile(t *testing.T) {
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	require.NoError(t, err)
	stages := parseDockerfile(t, string(b))

	// The Go image matches go.mod's go line (major.minor).
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	require.NotNil(t, goLine)
	require.Contains(t, stages[""].args("ARG"), "GO_VERSION="+string(goLine[1]), "the builder's Go is go.mod's")

	build := stages["build"]
	require.NotNil(t, build, "a stage named build")
	require.Equal(t, "--platform=$BUILDPLATFORM golang:${GO_VERSION} AS build", build.from, "cross-compiles on the build host")
	var goBuild string
	for _, r := range build.args("RUN") {
		if strings.Contains(r, "go build") {
			goBuild = r
		}
	}
	require.NotEmpty(t, goBuild, "the build stage runs go build")
	for _, want := range []string{"CGO_ENABLED=0", "GOOS=${TARGETOS}", "GOARCH=${TARGETARCH}", "-trimpath", "-tags timetzdata", "./cmd/iperfmon", "-o /out/iperfmon"} {
		require.Contains(t, goBuild, want)
	}

	// The default (last) target: the binary alone, unprivileged, on 5201.
	final := stages["final"]
	require.Equal(t, "scratch", final.from)
	require.Equal(t, []string{"--from=build /out/iperfmon /iperfmon"}, final.args("COPY"))
	requireNonRootUser(t, final)
	require.ElementsMatch(t, []string{"5201/tcp", "5201/udp"}, strings.Fields(strings.Join(final.args("EXPOSE"), " ")))
	var entry, cmd []string
	require.NoError(t, json.Unmarshal([]byte(final.args("ENTRYPOINT")[0]), &entry), "ENTRYPOINT in exec form (no shell in scratch)")
	require.NoError(t, json.Unmarshal([]byte(final.args("CMD")[0]), &cmd), "CMD in exec form")
	require.Equal(t, []string{"/iperfmon"}, entry)
	require.Equal(t, []string{"server"}, cmd)

	// The Telegraf target puts iperfmon on PATH for [[inputs.execd]].
	tg := stages["telegraf"]
	require.NotNil(t, tg, "a stage named telegraf")
	require.Equal(t, "telegraf:${TELEGRAF_VERSION} AS telegraf", tg.from)
	require.Equal(t, []string{"--from=build /out/iperfmon /usr/local/bin/iperfmon"}, tg.args("COPY"))
	requireNonRootUser(t, tg)

	// The context leaves .git out: in a git worktree it points outside
	// the context and go build's VCS stamping would fail.
	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	require.NoError(t, err)
	require.Regexp(t, `(?m)^\.git$`, string(ignore))

	// Run the build line as docker build would, in a copy of the build
	// context (the tree without what .dockerignore leaves out).
	src := copyContext(t, root, strings.Split(string(ignore), "\n"))
	out := filepath.Join(t.TempDir(), "iperfmon")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	sh := exec.CommandContext(ctx, "/bin/sh", "-c", strings.Replace(goBuild, "/out/iperfmon", out, 1))
	sh.Dir = src
	// BuildKit sets TARGETOS/TARGETARCH; build for this host to run the result.
	sh.Env = append(os.Environ(), "VERSION=v9.9.9-docker", "TARGETOS="+runtime.GOOS, "TARGETARCH="+runtime.GOARCH)
	msg, err := sh.CombinedOutput()
	require.NoError(t, err, "%s\n%s", goBuild, msg)

	testenv.RequireStatic(t, out)

	bi, err := buildinfo.ReadFile(out)
	require.NoError(t, err)
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	require.Equal(t, "0", settings["CGO_ENABLED"])
	require.Equal(t, "true", settings["-trimpath"])
	require.Equal(t, "timetzdata", settings["-tags"])
	bin, err := os.ReadFile(out)
	require.NoError(t, err)
	require.False(t, bytes.Contains(bin, []byte(root)), "the binary holds the source path %s", root)

	v, err := exec.CommandContext(ctx, out, "version").Output()
	require.NoError(t, err)
	require.Regexp(t, `^iperfmon v9\.9\.9-docker \(go`, string(v), "VERSION reaches the binary")
}

// copyContext copies the tree at root to a temporary directory, leaving
// out the paths .dockerignore's lines name (comment lines start with #).
func copyContext(t *testing.T, root string, ignore []string) string {
	t.Helper()
	skip := map[string]bool{}
	for _, line := range ignore {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		require.NotContains(t, line, "*", ".dockerignore: only plain paths are copied faithfully here")
		skip[filepath.Clean(line)] = true
	}
	require.True(t, skip[".git"])
	dst := t.TempDir()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if skip[rel] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, 0o644)
		}
		return nil // symlinks and the like: docker copies them, the build needs none
	})
	require.NoError(t, err)
	return dst
}

func requireNonRootUser(t *testing.T, s *dockerStage) {
	t.Helper()
	users := s.args("USER")
	require.Len(t, users, 1, "stage %s sets USER", s.from)
	u, _, _ := strings.Cut(users[0], ":")
	require.NotContains(t, []string{"", "0", "root"}, u, "stage %s runs as root", s.from)
}

// dockerStage is one FROM ... and the instructions after it.
type dockerStage struct {
	from  string
	instr [][2]string // keyword (upper case), arguments
}

func (s *dockerStage) args(keyword string) []string {
	var out []string
	for _, in := range s.instr {
		if in[0] == keyword {
			out = append(out, in[1])
		}
	}
	return out
}

// parseDockerfile splits a Dockerfile into stages by name: "" holds the
// instructions before the first FROM, "final" is the last stage (the
// default target) whatever its name. Continuation lines are joined and
// comments dropped; an unknown instruction fails the test.
func parseDockerfile(t *testing.T, text string) map[string]*dockerStage {
	t.Helper()
	known := map[string]bool{"FROM": true, "RUN": true, "CMD": true, "LABEL": true, "EXPOSE": true, "ENV": true,
		"ADD": true, "COPY": true, "ENTRYPOINT": true, "VOLUME": true, "USER": true, "WORKDIR": true, "ARG": true,
		"ONBUILD": true, "STOPSIGNAL": true, "HEALTHCHECK": true, "SHELL": true}
	stages := map[string]*dockerStage{"": {}}
	cur := stages[""]
	var logical []string
	var pending strings.Builder
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && pending.Len() == 0) {
			continue
		}
		if body, ok := strings.CutSuffix(trimmed, "\\"); ok {
			pending.WriteString(body + " ")
			continue
		}
		pending.WriteString(trimmed)
		logical = append(logical, pending.String())
		pending.Reset()
	}
	require.Zero(t, pending.Len(), "the Dockerfile ends inside a continued line")
	for _, l := range logical {
		kw, rest, _ := strings.Cut(l, " ")
		kw = strings.ToUpper(kw)
		require.True(t, known[kw], "unknown Dockerfile instruction %q", kw)
		rest = strings.TrimSpace(rest)
		if kw == "FROM" {
			cur = &dockerStage{from: rest}
			name := ""
			f := strings.Fields(rest)
			if len(f) > 0 && strings.HasPrefix(f[0], "--") { // --platform=...
				f = f[1:]
			}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				name = f[2]
			}
			if name != "" {
				stages[name] = cur
			}
			stages["final"] = cur
			continue
		}
		cur.instr = append(cur.instr, [2]string{kw, rest})
	}
	return stages
}
