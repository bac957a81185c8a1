//go:build linux

package main

import (
	"debug/elf"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// The binary TestMain built with CGO_ENABLED=0 is static: no program
// interpreter (dynamic loader) and no shared libraries, so it runs on any
// Linux host as shipped.
func TestBinaryIsStatic(t *testing.T) {
	f, err := elf.Open(binPath)
	require.NoError(t, err)
	defer f.Close()
	for _, p := range f.Progs {
		require.NotEqual(t, elf.PT_INTERP, p.Type, "the binary asks for a dynamic loader")
		require.NotEqual(t, elf.PT_DYNAMIC, p.Type, "the binary has a dynamic section")
	}
	libs, err := f.ImportedLibraries()
	require.NoError(t, err)
	require.Empty(t, libs, "shared libraries needed")

	r := iperfmon(t, nil, "version")
	require.Equal(t, 0, r.code, r.stderr)
	require.Regexp(t, `^iperfmon \S+ \(go1\.\d+`, r.stdout)
}

// `go install github.com/iperfmon/iperfmon/cmd/iperfmon@latest` refuses a
// main module whose go.mod has replace or exclude directives, and needs the
// module path to be the import path.
func TestGoInstallable(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	require.NoError(t, err)
	require.Regexp(t, `(?m)^module github\.com/iperfmon/iperfmon$`, string(b))
	require.NotRegexp(t, regexp.MustCompile(`(?m)^\s*(replace|exclude)\b`), string(b),
		"go install ...@latest fails on a go.mod with replace or exclude directives")
}
