package main

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParseProbe: any query and scrape-timeout header either is refused
// with a reason that says what is allowed, or yields a probe whose tests
// fit its deadline, with a target /probe may test. Nothing is dialled.
func FuzzParseProbe(f *testing.F) {
	for _, s := range [][2]string{
		{"target=127.0.0.1", "10"}, {"target=[::1]:5202&module=udp", "4.5"}, {"target=a.example&port=5201&period=2s", ""},
		{"target=127.0.0.1&reverse_mode=true&udp_mode=1&bitrate=10M", "30"}, {"target=127.0.0.1&period=1e9s", "1e300"},
		{"target=127.0.0.1&module=both", "NaN"}, {"target=%00&x=1", "-1"}, {"module=&target=", "0"}, {"target=127.0.0.1;rm", "10"},
	} {
		f.Add(s[0], s[1])
	}
	dir := f.TempDir()
	path := filepath.Join(dir, "iperfmon.toml")
	if err := os.WriteFile(path, []byte(moduleConf), 0o600); err != nil {
		f.Fatal(err)
	}
	var logs strings.Builder
	g, err := loadGeneration(path, newLogger(&logs, false))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, query, header string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		h := http.Header{}
		if header != "" {
			h.Set("X-Prometheus-Scrape-Timeout-Seconds", header)
		}
		req, err := parseProbe(g, q, h, 500*time.Millisecond)
		if err != nil {
			if !strings.Contains(err.Error(), "allowed") {
				t.Fatalf("error %q does not say what is allowed", err)
			}
			return
		}
		if len(req.targets) == 0 || req.timeout <= 0 {
			t.Fatalf("%q: %d targets, timeout %s", query, len(req.targets), req.timeout)
		}
		var need time.Duration
		for _, tg := range req.targets {
			need += tg.Test.Duration + tg.Test.Omit + time.Second
			if !g.allows(req.module, tg.Host, tg.Port) {
				t.Fatalf("%q: target %s:%d is not allowed", query, tg.Host, tg.Port)
			}
		}
		if need > req.timeout {
			t.Fatalf("%q with %q: tests need %s, deadline %s", query, header, need, req.timeout)
		}
	})
}
