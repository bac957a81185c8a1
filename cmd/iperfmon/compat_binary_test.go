package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/stockiperf"
	"github.com/stretchr/testify/require"
)

// waitListening waits until something accepts on 127.0.0.1:port.
func waitListening(t *testing.T, port string) {
	t.Helper()
	require.Eventually(t, func() bool {
		c, err := (&net.Dialer{Timeout: time.Second}).DialContext(context.Background(), "tcp", "127.0.0.1:"+port)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}, 10*time.Second, 50*time.Millisecond)
}

// The server's iperf3 options with a stock 3.22 client: -J prints the
// served test's JSON report (--json-stream its events), -I writes and
// removes the pid file, --logfile takes the output, -1 exits after one test.
func TestServerIperf3OutputOptions(t *testing.T) {
	bin := stockiperf.Binary(t, stockiperf.Latest())
	for _, mode := range []string{"-J", "--json-stream"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			pid, logf := filepath.Join(dir, "pid"), filepath.Join(dir, "log")
			port := strconv.Itoa(stockiperf.FreePort(t))
			p := startIperfmon(t, "-s", "-1", "-B", "127.0.0.1", "-p", port, mode, "-I", pid, "--logfile", logf,
				"--server-max-duration", "30", "--rcv-timeout", "5000", "--use-pkcs1-padding")
			waitListening(t, port)
			b, err := os.ReadFile(pid)
			require.NoError(t, err)
			require.Equal(t, strconv.Itoa(p.cmd.Process.Pid)+"\n", string(b))
			stock := stockiperf.ClientJSONWith(t, bin, mustAtoi(t, port), "-t", "1")
			_, err = stockiperf.ParseGeneric(stock, false, true, false)
			require.NoError(t, err, string(stock))
			require.Equal(t, 0, p.wait(t, 10*time.Second), p.stderr.String())
			require.NoFileExists(t, pid)
			out, err := os.ReadFile(logf)
			require.NoError(t, err)
			if mode == "-J" {
				doc := out[strings.Index(string(out), "{"):] // log lines around the report
				var rep struct {
					Start struct {
						Accepted *struct{ Host string } `json:"accepted_connection"`
					} `json:"start"`
					End struct {
						SumReceived *struct{ Bytes int64 } `json:"sum_received"`
					} `json:"end"`
				}
				require.NoError(t, json.NewDecoder(strings.NewReader(string(doc))).Decode(&rep), "%s", out)
				require.NotNil(t, rep.Start.Accepted)
				require.Equal(t, "127.0.0.1", rep.Start.Accepted.Host)
				require.Positive(t, rep.End.SumReceived.Bytes)
				return
			}
			var events []string
			sc := bufio.NewScanner(strings.NewReader(string(out)))
			for sc.Scan() {
				var e struct{ Event string }
				if json.Unmarshal(sc.Bytes(), &e) == nil && e.Event != "" {
					events = append(events, e.Event)
				}
			}
			require.GreaterOrEqual(t, len(events), 3, "%s", out)
			require.Equal(t, "start", events[0])
			require.Equal(t, "interval", events[1])
			require.Equal(t, "end", events[len(events)-1])
		})
	}
}

// The client's output options against a stock 3.22 server: -T and
// --timestamps prefix every text line, --logfile takes it, and -J carries
// title and extra_data.
func TestClientIperf3OutputOptions(t *testing.T) {
	bin := stockiperf.Binary(t, stockiperf.Latest())
	port := strconv.Itoa(stockiperf.StartServerWith(t, bin))
	logf := filepath.Join(t.TempDir(), "out")
	r := iperfmon(t, nil, "-c", "127.0.0.1", "-p", port, "-t", "1", "-T", "lab", "--timestamps=%Y ", "--logfile", logf, "--forceflush", "-V")
	require.Equal(t, 0, r.code, r.stderr)
	require.Empty(t, r.stdout)
	out, err := os.ReadFile(logf)
	require.NoError(t, err)
	year := strconv.Itoa(time.Now().Year())
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		require.True(t, strings.HasPrefix(line, year+" lab:  "), "line %q", line)
	}
	var doc struct {
		Title     string `json:"title"`
		ExtraData string `json:"extra_data"`
	}
	for range 50 { // the stock server resets between tests
		r = iperfmon(t, nil, "-c", "127.0.0.1", "-p", port, "-t", "1", "-J", "-T", "lab", "--extra-data", "rack=7")
		if r.code == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.Equal(t, 0, r.code, r.stderr)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc))
	require.Equal(t, "lab", doc.Title)
	require.Equal(t, "rack=7", doc.ExtraData)
}
