package testenv

import (
	"debug/elf"
	"testing"
)

// RequireStatic fails unless the ELF binary at path is static: no program
// interpreter (dynamic loader), no dynamic section and no shared libraries,
// so it runs on any Linux host (or FROM scratch) as shipped.
func RequireStatic(tb testing.TB, path string) {
	tb.Helper()
	f, err := elf.Open(path)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			tb.Fatalf("%s is not static: it asks for a dynamic loader", path)
		case elf.PT_DYNAMIC:
			tb.Fatalf("%s is not static: it has a dynamic section", path)
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	if len(libs) > 0 {
		tb.Fatalf("%s is not static: it needs shared libraries %v", path, libs)
	}
}
