//go:build linux

package measure

import (
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRawWriter: the RawSyscall sender delivers every byte, allocates
// nothing per block, and a deadline still ends a write whose peer stopped
// reading (it waits in the netpoller, not in the kernel).
func TestRawWriter(t *testing.T) {
	a, b := tcpPair(t)
	w := newRawWriter(a)
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

	// A peer that reads nothing: the send buffer fills, the write parks,
	// and a past deadline ends it.
	c, d := tcpPair(t)
	defer d.Close()
	w = newRawWriter(c)
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

// TestBlockingWriter: the thread sender delivers every byte without
// allocating, and a write blocked in the kernel (the peer reads nothing)
// ends on a past deadline (within SO_SNDTIMEO), on wake (shutdown) at
// once, and when the peer goes away.
func TestBlockingWriter(t *testing.T) {
	block := make([]byte, 128<<10)
	a, b := tcpPair(t)
	w := newBlockingWriter(a)
	require.NotNil(t, w)
	done := make(chan int64, 1)
	go func() {
		n, _ := io.Copy(io.Discard, b)
		done <- n
	}()
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

	cases := []struct {
		name  string
		end   func(c, peer *net.TCPConn, w *blockingWriter)
		limit time.Duration
	}{
		{"deadline", func(c, _ *net.TCPConn, _ *blockingWriter) { _ = c.SetWriteDeadline(time.Unix(1, 0)) }, sendTimeout + time.Second},
		{"wake", func(_, _ *net.TCPConn, w *blockingWriter) { w.wake() }, time.Second},
		{"peer gone", func(_, peer *net.TCPConn, _ *blockingWriter) { _ = peer.SetLinger(0); _ = peer.Close() }, time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, peer := tcpPair(t)
			w := newBlockingWriter(c)
			require.NotNil(t, w)
			errc := make(chan error, 1)
			go func() {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				for {
					if _, err := w.write(block); err != nil {
						errc <- err
						return
					}
				}
			}()
			time.Sleep(300 * time.Millisecond) // the send buffer fills
			start := time.Now()
			tc.end(c, peer, w)
			select {
			case err := <-errc:
				require.Error(t, err)
				require.Less(t, time.Since(start), tc.limit)
			case <-time.After(5 * time.Second):
				t.Fatal("a blocked write did not end")
			}
		})
	}
}
