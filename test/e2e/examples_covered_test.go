//go:build linux

package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every file under examples/ is exercised by a test here: its path (or, for
// files a test picks from a list, its name) appears quoted in one of this
// package's test files. A new example without a test fails.
func TestEveryExampleIsTested(t *testing.T) {
	var sources strings.Builder
	tests, err := filepath.Glob("*_test.go")
	require.NoError(t, err)
	for _, f := range tests {
		if f == "examples_covered_test.go" {
			continue
		}
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		sources.Write(b)
	}
	root := filepath.Join(repoRoot(t), "examples")
	n := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		rel, err := filepath.Rel(root, path)
		require.NoError(t, err)
		rel = filepath.ToSlash(rel)
		// Named by its path under examples/ or, built from a directory, by its file name.
		used := strings.Contains(sources.String(), `"`+rel+`"`) || strings.Contains(sources.String(), `"`+d.Name()+`"`)
		require.True(t, used, "examples/%s is not used by any test in test/e2e", rel)
		return nil
	})
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 10)
}
