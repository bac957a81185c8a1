package hostile

import (
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
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

// heapAfterGC is the live heap once garbage is collected.
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// openFDs counts this process's open file descriptors.
func openFDs(t testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
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
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("goroutine leak: %d running, baseline %d\n%s", n, want, interesting(string(buf)))
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitFDs polls until at most want descriptors are open.
func waitFDs(t testing.TB, want int, limit time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		n := openFDs(t)
		if n <= want {
			return n
		}
		if time.Now().After(deadline) {
			links := []string{}
			ents, _ := os.ReadDir("/proc/self/fd")
			for _, e := range ents {
				l, _ := os.Readlink("/proc/self/fd/" + e.Name())
				links = append(links, e.Name()+"->"+l)
			}
			t.Fatalf("fd leak: %d open, baseline %d: %s", n, want, strings.Join(links, " "))
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// interesting drops the testing framework's own goroutines from a dump.
func interesting(dump string) string {
	var keep []string
	for _, g := range strings.Split(dump, "\n\n") {
		if strings.Contains(g, "testing.(*T).Run") || strings.Contains(g, "testing.tRunner") && strings.Contains(g, "waitGoroutines") ||
			strings.Contains(g, "testing.(*M).") || strings.Contains(g, "runtime.goexit") && strings.Contains(g, "os/signal") {
			continue
		}
		keep = append(keep, g)
	}
	return strings.Join(keep, "\n\n")
}
