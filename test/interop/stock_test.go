package interop

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/stockiperf"
)

// stockServer is one `iperf3 -s -1 -J` on a free loopback port.
type stockServer struct{ *stockiperf.Server }

// startStock starts a one-off stock iperf3 server (binary bin) bound to
// addr (127.0.0.1 or ::1) and waits until it listens. It is killed when
// the test ends.
func startStock(t *testing.T, bin, addr string, extra ...string) stockServer {
	t.Helper()
	return stockServer{stockiperf.Start(t, bin, addr, append([]string{"-1", "-J"}, extra...)...)}
}

// stockSum is one summary of iperf3's JSON "end" object.
type stockSum struct {
	Bytes         int64   `json:"bytes"`
	Seconds       float64 `json:"seconds"`
	BitsPerSecond float64 `json:"bits_per_second"`
	Packets       int64   `json:"packets"`
	LostPackets   int64   `json:"lost_packets"`
	Retransmits   int64   `json:"retransmits"`
}

type stockReport struct {
	End   map[string]json.RawMessage `json:"end"`
	Error string                     `json:"error"`
	// threaded: the server runs a thread per stream (3.16+).
	threaded bool
}

// report waits for the one-off server to finish and parses its JSON.
func (s stockServer) report(t *testing.T) stockReport {
	t.Helper()
	out := s.Wait(t, 20*time.Second)
	var r stockReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("server JSON: %v\n%s", err, out)
	}
	if r.Error != "" {
		t.Fatalf("server reported an error: %s", r.Error)
	}
	return r
}

func (r stockReport) sum(t *testing.T, key string) stockSum {
	t.Helper()
	raw, ok := r.End[key]
	if !ok {
		keys := make([]string, 0, len(r.End))
		for k := range r.End {
			keys = append(keys, k)
		}
		t.Fatalf("server JSON has no end.%s (has %v)", key, keys)
	}
	var s stockSum
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("end.%s: %v", key, err)
	}
	return s
}
