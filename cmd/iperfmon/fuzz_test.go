package main

// Fuzz targets for what the command line and the state directory feed
// iperfmon beyond config's parsers (fuzzed in config): the server's
// --allow networks and the check baseline file, which another process or
// a crash may have left in any state.

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParseAllow: an accepted --allow value is a valid, masked prefix that
// survives its own String form, and a refusal says what is allowed.
func FuzzParseAllow(f *testing.F) {
	for _, s := range []string{"192.0.2.0/24", "192.0.2.7", "2001:db8::/32", "::1", " 10.0.0.0/8 ", "0.0.0.0/0",
		"::/0", "192.0.2.1/24", "fe80::1%eth0", "::ffff:192.0.2.1/120", "1.2.3.4/33", "example.net", "", "/", "1.2.3/24"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseAllow(s)
		if err != nil {
			if !strings.Contains(err.Error(), "allowed") {
				t.Fatalf("error %q does not say what is allowed", err)
			}
			return
		}
		if !p.IsValid() || p != p.Masked() {
			t.Fatalf("parseAllow(%q) = %v: not a valid masked prefix", s, p)
		}
		back, err := parseAllow(p.String())
		if err != nil || back != p {
			t.Fatalf("%q -> %v -> %q -> %v, %v", s, p, p.String(), back, err)
		}
		if !p.Contains(p.Addr()) {
			t.Fatalf("%v does not contain its own address", p)
		}
	})
}

// FuzzReadBaseline: any file content is either refused or yields samples
// that can take part in a median (finite, not negative), and a baseline
// read from it can take a new sample and be saved and read back.
func FuzzReadBaseline(f *testing.F) {
	f.Add([]byte(`{"version":1,"series":{"a":[{"time":"2026-01-01T00:00:00Z","bits_per_second":1e9}]}}`))
	f.Add([]byte(`{"version":1,"series":{"a":[{"bits_per_second":-1},{"bits_per_second":1e400}],"b":null}}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"series":{"":[]}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "baseline.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		d, err := readBaseline(path)
		if err != nil {
			return
		}
		for k, ss := range d.Series {
			for _, s := range ss {
				if s.BitsPerSecond < 0 || math.IsNaN(s.BitsPerSecond) || math.IsInf(s.BitsPerSecond, 0) {
					t.Fatalf("series %q kept an unusable sample %v", k, s.BitsPerSecond)
				}
			}
		}
		b, err := openBaseline(path, func(string, ...any) {})
		if err != nil {
			t.Fatalf("readBaseline accepted the file but openBaseline fails: %v", err)
		}
		defer b.close()
		b.add("x", baselineSample{Time: time.Unix(1, 0).UTC(), BitsPerSecond: 1}, 10)
		if err := b.save(); err != nil {
			t.Fatalf("save: %v", err)
		}
		if _, err := readBaseline(path); err != nil {
			t.Fatalf("a saved baseline does not read back: %v", err)
		}
	})
}
