package config

// Fuzz targets for everything config reads from a user: the TOML file
// (Parse), the duration/size/rate values, servers entries and cron specs.
// Seeds: the committed testdata/*.toml files plus testdata/fuzz/<Target>/.
// Properties: no panic, no hang, and whatever is accepted is consistent
// (re-validates, round-trips through its own String form, builds tests
// that measure accepts).

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary files to Parse. Whatever it accepts must
// validate again and produce targets whose measure.Test is valid.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.toml")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// rsa_public_key is a path that Validate reads: never let the
		// fuzzer point it at a device or a pseudo-file that never ends.
		for _, bad := range []string{"/dev", "/proc", "/sys", "/run", "fifo"} {
			if bytes.Contains(data, []byte(bad)) {
				t.Skip()
			}
		}
		start := time.Now()
		tables, err := Parse(data)
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("Parse took %s on %d bytes", took, len(data))
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			if tables != nil {
				t.Fatalf("error %v with %d tables", err, len(tables))
			}
			return
		}
		if len(tables) == 0 {
			t.Fatal("no tables and no error")
		}
		for i := range tables {
			tb := &tables[i]
			if err := tb.Validate(); err != nil {
				t.Fatalf("table %d parsed but does not validate again: %v", i, err)
			}
			targets := tb.Targets()
			if want := len(tb.Servers) * len(tb.Directions); len(targets) != want {
				t.Fatalf("table %d: %d targets, want %d", i, len(targets), want)
			}
			for _, tg := range targets {
				if err := tg.Test.Validate(); err != nil {
					t.Fatalf("table %d target %s/%s: accepted config builds an invalid test: %v", i, tg.Addr(), tg.Direction, err)
				}
				if tg.Test.Timeout <= tg.Test.Duration+tg.Test.Omit {
					t.Fatalf("target %s: timeout %s not above duration+omit", tg.Addr(), tg.Test.Timeout)
				}
			}
		}
	})
}

// FuzzUnits parses one string as a duration, a size and a rate. Accepted
// values are in range and survive a round trip through their String form.
func FuzzUnits(f *testing.F) {
	for _, s := range []string{"10s", "1m30s", "0.5", "10", "", " 5 ", "-1s", "1e3", "NaN", "Inf",
		"9223372036.854775807", "9223372037", "2562047h47m16.854775807s", "128K", "1.5M", "0", "0.5",
		"100M", "1g", "8T", "9999999999T", "1..2", ".5k", "0x10", "1_000", "１０"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseDuration(s); err == nil {
			if d < 0 {
				t.Fatalf("ParseDuration(%q) = %v, negative", s, d)
			}
			back, err := ParseDuration(Duration(d).String())
			if err != nil || back != d {
				t.Fatalf("duration %q -> %v -> %q -> %v, %v", s, d, Duration(d).String(), back, err)
			}
		} else if !strings.Contains(err.Error(), "allowed") {
			t.Fatalf("duration error %q does not say what is allowed", err)
		}
		if n, err := ParseSize(s); err == nil {
			if n < 0 {
				t.Fatalf("ParseSize(%q) = %d, negative", s, n)
			}
			if n > 0 {
				back, err := ParseSize(Size(n).String())
				if err != nil || back != n {
					t.Fatalf("size %q -> %d -> %q -> %d, %v", s, n, Size(n).String(), back, err)
				}
			}
		} else if !strings.Contains(err.Error(), "allowed") {
			t.Fatalf("size error %q does not say what is allowed", err)
		}
		if r, err := ParseRate(s); err == nil {
			if r < 1 && r != -1 {
				t.Fatalf("ParseRate(%q) = %d: neither unlimited (-1) nor >= 1", s, r)
			}
			back, err := ParseRate(Rate(r).String())
			if err != nil || back != r {
				t.Fatalf("rate %q -> %d -> %q -> %d, %v", s, r, Rate(r).String(), back, err)
			}
		} else if !strings.Contains(err.Error(), "allowed") {
			t.Fatalf("rate error %q does not say what is allowed", err)
		}
	})
}

// FuzzParseServer checks that an accepted servers entry yields a usable
// host and port that survive net.JoinHostPort.
func FuzzParseServer(f *testing.F) {
	for _, s := range []string{"iperf.example.net", "192.0.2.7:5202", "[2001:db8::1]", "[2001:db8::1]:5201",
		"[::ffff:1.2.3.4]", "[fe80::1%eth0]:1", "host:0", "host:65536", "host:+1", "1.2.3", "a..b", "-a",
		"http://x", "x y", "localhost.", "[::1]x", ":5201", "_srv.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, port, err := ParseServer(s)
		if err != nil {
			return
		}
		if host == "" || port < 1 || port > 65535 {
			t.Fatalf("ParseServer(%q) = %q, %d", s, host, port)
		}
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		h2, p2, err := ParseServer(addr)
		if err != nil || h2 != host || p2 != port {
			t.Fatalf("%q -> %q:%d -> %q -> %q:%d, %v", s, host, port, addr, h2, p2, err)
		}
		_ = serverKey(host, port)
	})
}

// FuzzParseSchedule feeds cron specs to the parser the scheduler uses and
// checks that accepted schedules answer Next and minGap quickly.
func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"*/15 * * * *", "0 */5 * * * *", "@hourly", "@every 1h30m", "@every 0s",
		"@every -1s", "CRON_TZ=Europe/Berlin 0 3 * * *", "TZ=UTC @daily", "CRON_TZ=", "TZ=",
		"0 0 30 2 *", "59 23 31 12 6", "*/0 * * * *", "1-0 * * * *", "0 0 * * 7", "? ? ? ? ?", "@annually",
		"0-59/61 * * * *"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		start := time.Now()
		s, err := ParseSchedule(spec)
		if err != nil {
			return
		}
		from := time.Date(2026, 3, 29, 1, 59, 0, 0, time.UTC) // a DST change in Europe
		next := s.Next(from)
		if !next.IsZero() && !next.After(from) {
			t.Fatalf("%q: Next(%v) = %v, not after", spec, from, next)
		}
		_ = minGap(s)
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("%q took %s", spec, took)
		}
	})
}
