package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/internal/leakcheck"
	"github.com/iperfmon/iperfmon/internal/servertest"
	"github.com/iperfmon/iperfmon/measure"
)

// Bounded load: 50 probes at once against one server that takes 4 tests
// at a time. Every probe answers within its scrape timeout, with a success,
// a clear busy result (the exporter's own lock or the server's answer) or
// a 503; afterwards goroutines and descriptors are back where they were.
func TestProbeLoad(t *testing.T) {
	const (
		probes        = 50
		scrapeTimeout = 4 * time.Second
	)
	ts := servertest.Start(t, &measure.Server{MaxTests: 4}, "127.0.0.1:0")
	_, srv, _ := newTestExporter(t, "[[inputs.iperf3]]\n  alias = \"load\"\n  duration = \"1s\"\n  directions = [\"forward\"]\n", 20)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: probes}}
	u := srv.URL + "/probe?module=load&target=" + ts.Addr()
	probe := func() (int, string, time.Duration) {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		require.NoError(t, err)
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", fmt.Sprint(scrapeTimeout.Seconds()))
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err.Error(), time.Since(start)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), time.Since(start)
	}
	code, body, _ := probe() // warm up: connections, the exporter's lazy state
	require.Equal(t, http.StatusOK, code, body)
	client.CloseIdleConnections()
	base := leakcheck.Take()

	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	for range probes {
		wg.Go(func() {
			code, body, took := probe()
			outcome := fmt.Sprint(code)
			switch {
			case code == http.StatusOK && strings.Contains(body, `result="success"`) && strings.Contains(body, "iperf3_up{"):
				outcome = "success"
			case code == http.StatusOK && strings.Contains(body, `result="server_busy"`):
				outcome = "server_busy"
			case code == http.StatusServiceUnavailable && strings.Contains(body, "probes in flight already"):
				outcome = "503"
			default:
				t.Errorf("probe answered %d: %s", code, body)
			}
			// The scrape timeout bounds every answer; half a second of
			// slack for a loaded CI host.
			if took > scrapeTimeout+500*time.Millisecond {
				t.Errorf("probe took %s, longer than its scrape timeout %s (%s)", took, scrapeTimeout, outcome)
			}
			mu.Lock()
			outcomes[outcome]++
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Logf("outcomes of %d concurrent probes: %v", probes, outcomes)
	require.GreaterOrEqual(t, outcomes["success"], 1, "%v", outcomes)
	require.GreaterOrEqual(t, outcomes["server_busy"]+outcomes["503"], 1, "%v", outcomes)
	require.Equal(t, probes, outcomes["success"]+outcomes["server_busy"]+outcomes["503"], "%v", outcomes)

	client.CloseIdleConnections()
	leakcheck.Settle(t, base, 4, 8<<20, 10*time.Second)
}
