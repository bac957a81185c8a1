//go:build linux

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/internal/testenv"
)

// The binary TestMain built with CGO_ENABLED=0 is static: no program
// interpreter (dynamic loader) and no shared libraries, so it runs on any
// Linux host as shipped.
func TestBinaryIsStatic(t *testing.T) {
	testenv.RequireStatic(t, binPath)

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
