package hostile

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/leakcheck"
)

// memWatch samples the heap while a test runs and reports the peak growth
// over the baseline taken at start.
type memWatch struct {
	base uint64
	peak uint64
	stop chan struct{}
	done sync.WaitGroup
}

func watchMemory() *memWatch {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w := &memWatch{base: ms.HeapInuse, peak: ms.HeapInuse, stop: make(chan struct{})}
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-tick.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				w.peak = max(w.peak, ms.HeapInuse)
			}
		}
	}()
	return w
}

// Stop returns the peak heap growth in bytes.
func (w *memWatch) Stop() uint64 {
	close(w.stop)
	w.done.Wait()
	if w.peak < w.base {
		return 0
	}
	return w.peak - w.base
}

// waitGoroutines polls until at most want goroutines remain, and fails
// with every stack when they do not within limit.
func waitGoroutines(t testing.TB, want int, limit time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		n := runtime.NumGoroutine()
		if n <= want {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutine leak: %d running, baseline %d\n%s", n, want, leakcheck.Goroutines())
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}
