//go:build linux

package measure

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBlockingWriter: the blocking-fd sender (IPERFMON_BLOCKING_SEND)
// delivers every byte, allocates nothing per block, and a deadline still
// ends a write whose peer stopped reading (within SO_SNDTIMEO).
func TestBlockingWriter(t *testing.T) {
	a, b := tcpPair(t)
	w := newBlockingWriter(a)
	require.NotNil(t, w)
	done := make(chan int64, 1)
	go func() {
		n, _ := io.Copy(io.Discard, b)
		done <- n
	}()
	block := make([]byte, 128<<10)
	var sent int64
	allocs := testing.AllocsPerRun(100, func() {
		n, err := w.write(block)
		if err != nil || n != len(block) {
			t.Fatal("write", n, err)
		}
		sent += int64(n)
	})
	require.Zero(t, allocs)
	require.NoError(t, a.CloseWrite())
	require.Equal(t, sent, <-done)

	// A peer that reads nothing: the send buffer fills, the write sleeps,
	// and a past deadline ends it.
	c, d := tcpPair(t)
	defer d.Close()
	w = newBlockingWriter(c)
	require.NotNil(t, w)
	errc := make(chan error, 1)
	go func() {
		for {
			if _, err := w.write(block); err != nil {
				errc <- err
				return
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	require.NoError(t, c.SetWriteDeadline(time.Unix(1, 0)))
	select {
	case err := <-errc:
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		require.Less(t, time.Since(start), 2*time.Second)
	case <-time.After(5 * time.Second):
		t.Fatal("a blocked write ignored the deadline")
	}
}

// TestBlockingSenderSelection: a data phase with few TCP senders switches
// them all to blocking writes and gives the slots back when it ends; more
// than maxBlockingSenders, -Z, the portable loops or
// IPERFMON_BLOCKING_SEND=0 keep the netpoller. Stop stays prompt when the
// peer reads nothing and the blocking writes sleep.
func TestBlockingSenderSelection(t *testing.T) {
	tests := []struct {
		name         string
		senders      int
		zeroCopy     bool
		portable     bool
		envOff       bool
		wantBlocking bool
	}{
		{name: "1 sender", senders: 1, wantBlocking: true},
		{name: "16 senders", senders: maxBlockingSenders, wantBlocking: true},
		{name: "17 senders", senders: maxBlockingSenders + 1},
		{name: "-Z", senders: 1, zeroCopy: true},
		{name: "portable", senders: 1, portable: true},
		{name: "IPERFMON_BLOCKING_SEND=0", senders: 1, envOff: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			saved := envNoBlockingSend
			envNoBlockingSend = tt.envOff
			t.Cleanup(func() { envNoBlockingSend = saved })
			base := blockingSlots.Load()
			cfg := streamConfig{Protocol: TCP, Length: 128 << 10, Interval: time.Second,
				ZeroCopy: tt.zeroCopy, Portable: tt.portable}
			var streams []*dataStream
			for i := range tt.senders {
				a, _ := tcpPair(t) // the peer never reads: every send buffer fills
				streams = append(streams, newDataStream(i+1, true, a, cfg))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			dp := startDataPhase(ctx, cfg, streams)
			for _, s := range streams {
				require.Equal(t, tt.wantBlocking, s.fast.blocking, "stream %d", s.ID)
			}
			want := base
			if tt.wantBlocking {
				want += int32(tt.senders)
			}
			require.Equal(t, want, blockingSlots.Load())

			time.Sleep(300 * time.Millisecond) // send buffers full, writes asleep
			t0 := time.Now()
			dp.Stop()
			require.Less(t, time.Since(t0), time.Second, "Stop waited for sleeping writes")
			require.NoError(t, dp.Err())
			require.Equal(t, base, blockingSlots.Load(), "slots not given back")
		})
	}
	t.Run("cap per process", func(t *testing.T) {
		base := blockingSlots.Load()
		require.True(t, acquireBlockingSlots(maxBlockingSenders-int(base)))
		defer blockingSlots.Add(-(maxBlockingSenders - base))
		require.False(t, acquireBlockingSlots(1), "a 17th blocking sender in one process")
		cfg := streamConfig{Protocol: TCP, Length: 1400, Interval: time.Second}
		a, _ := tcpPair(t)
		s := newDataStream(1, true, a, cfg)
		dp := startDataPhase(context.Background(), cfg, []*dataStream{s})
		require.False(t, s.fast.blocking)
		dp.Stop()
	})
}
