package interop

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/measure"
	"github.com/stretchr/testify/require"
)

// TestGoServerP1024 is the scale check: -P 1024 against our own
// server (iperf3 stops at 128), with the per-stream figures summing to the
// totals and both ends agreeing on every byte.
func TestGoServerP1024(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan measure.ServedTest, 1)
	// A result nobody waits for (its subtest failed first) is dropped, so
	// that Close never blocks on the channel.
	srv := &measure.Server{MaxParallel: measure.MaxStreams, OnResult: func(st measure.ServedTest) {
		select {
		case served <- st:
		default:
		}
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		_ = srv.Close()
		<-done
	})
	port := ln.Addr().(*net.TCPAddr).Port

	for _, reverse := range []bool{false, true} {
		name := "forward"
		if reverse {
			name = "reverse"
		}
		t.Run(name, func(t *testing.T) {
			// Small blocks: 2048 sockets in one process, 16 KiB each. Setting
			// up and tearing down 1024 streams takes seconds under -race on
			// 2 cores, so the whole-test deadline is generous.
			test := measure.Test{Host: "127.0.0.1", Port: port, Duration: time.Second, Parallel: measure.MaxStreams,
				Length: 16 << 10, Reverse: reverse, ConnectTimeout: 20 * time.Second, Timeout: 90 * time.Second}
			rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer rcancel()
			res, err := (&measure.Client{}).Run(rctx, test)
			require.NoError(t, err)
			var st measure.ServedTest
			select {
			case st = <-served:
			case <-time.After(30 * time.Second):
				t.Fatal("server reported no result")
			}
			require.NoError(t, st.Err)
			require.Len(t, res.Directions, 1)
			d := res.Directions[0]
			require.Len(t, d.Streams, measure.MaxStreams)
			var snd, rcv int64
			ids := map[int]bool{}
			for _, s := range d.Streams {
				snd += s.SenderBytes
				rcv += s.ReceiverBytes
				ids[s.ID] = true
			}
			require.Len(t, ids, measure.MaxStreams, "stream ids must be distinct")
			require.Equal(t, snd, d.Sum.SenderBytes)
			require.Equal(t, rcv, d.Sum.ReceiverBytes)
			require.Positive(t, d.Sum.ReceiverBytes)
			require.LessOrEqual(t, d.Sum.ReceiverBytes, d.Sum.SenderBytes)
			sd := st.Result.Directions[0]
			require.Len(t, sd.Streams, measure.MaxStreams)
			require.Equal(t, d.Sum.SenderBytes, sd.Sum.SenderBytes)
			require.Equal(t, d.Sum.ReceiverBytes, sd.Sum.ReceiverBytes)
		})
	}
}
