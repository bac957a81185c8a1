//go:build linux

package measure

import (
	"io"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRawWriter: the RawSyscall sender delivers every byte, allocates
// nothing per block, returns what the kernel took once the socket is full,
// and a deadline still ends a write whose peer stopped reading (it waits
// in the netpoller, not in the kernel).
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
		for off := 0; off < len(block); {
			n, err := w.write(block[off:])
			if err != nil || n < 1 {
				t.Fatal("write", n, err)
			}
			off += n
			sent += int64(n)
		}
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
	// A write larger than the send buffer returns the part it took.
	big := make([]byte, 64<<20)
	n, err := w.write(big)
	require.NoError(t, err)
	require.Positive(t, n)
	require.Less(t, n, len(big), "a write larger than the socket's buffers returned only when all was taken")
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
