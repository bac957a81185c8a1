package measure

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
)

// decodeFrame runs payload through the real framing path.
func decodeFrame(payload []byte, max int, v any) error {
	b := make([]byte, 4+len(payload))
	binary.BigEndian.PutUint32(b, uint32(len(payload)))
	copy(b[4:], payload)
	return iperf3wire.ReadJSON(bytes.NewReader(b), max, v)
}

// FuzzBuildDirections combines arbitrary local and peer results JSON the
// way both ends do after EXCHANGE_RESULTS and checks that whatever a peer
// reports, the Result that reaches metrics has only finite figures and no
// negative counts (a line-protocol field cannot be NaN or Inf, and a
// negative byte count is a lie, not a measurement).
func FuzzBuildDirections(f *testing.F) {
	f.Add([]byte(`{"streams":[{"id":1,"bytes":1000,"retransmits":0,"end_time":1}]}`),
		[]byte(`{"streams":[{"id":1,"bytes":990,"retransmits":-1,"end_time":1.01}]}`), uint8(0))
	f.Fuzz(func(t *testing.T, localJSON, remoteJSON []byte, shape uint8) {
		var local, remote iperf3wire.Results
		if decodeFrame(localJSON, iperf3wire.MaxResultsJSON, &local) != nil || decodeFrame(remoteJSON, iperf3wire.MaxResultsJSON, &remote) != nil {
			return
		}
		cfg := streamConfig{Protocol: TCP, Length: 1000}
		if shape&1 != 0 {
			cfg.Protocol = UDP
		}
		isClient := shape&2 == 0
		n := int(shape>>2)%4 + 1
		d := &dataPhase{cfg: cfg}
		for i := 0; i < n; i++ {
			id := i + 2
			if i == 0 {
				id = 1
			}
			sender := isClient
			if shape&0x40 != 0 { // reverse
				sender = !sender
			}
			if shape&0x80 != 0 && i%2 == 1 { // bidir
				sender = !sender
			}
			d.streams = append(d.streams, newDataStream(id, sender, nil, cfg))
		}
		dirs := buildDirections(cfg, isClient, d, &local, &remote)
		for _, dr := range dirs {
			checkSummary(t, string(dr.Direction)+".Sum", dr.Sum)
			for _, st := range dr.Streams {
				checkSummary(t, fmt.Sprintf("%s.stream%d", dr.Direction, st.ID), st.Summary)
			}
		}
	})
}

// checkSummary fails on a figure no metric should carry.
func checkSummary(t *testing.T, where string, s Summary) {
	t.Helper()
	v := reflect.ValueOf(s)
	for i := 0; i < v.NumField(); i++ {
		name := where + "." + v.Type().Field(i).Name
		switch fv := v.Field(i); fv.Kind() {
		case reflect.Float64:
			if f := fv.Float(); math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
				t.Fatalf("%s = %v", name, f)
			}
		case reflect.Int64:
			min := int64(0)
			if v.Type().Field(i).Name == "Retransmits" {
				min = -1 // unknown
			}
			if fv.Int() < min {
				t.Fatalf("%s = %d", name, fv.Int())
			}
		}
	}
}
