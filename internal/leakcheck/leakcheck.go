// Package leakcheck polls goroutine counts, open descriptors and the live
// heap until they return to a baseline (goleak-style, without the
// dependency), for tests that prove long runs leave nothing behind.
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Snapshot is a process's resource use at one moment.
type Snapshot struct {
	Goroutines int
	FDs        int    // -1 when /proc/self/fd is not readable
	Heap       uint64 // live heap after two GCs
}

// Take records the current goroutines, descriptors and live heap.
func Take() Snapshot {
	return Snapshot{Goroutines: runtime.NumGoroutine(), FDs: FDs(), Heap: Heap()}
}

func (s Snapshot) String() string {
	return fmt.Sprintf("%d goroutines, %d fds, heap %.1f MiB", s.Goroutines, s.FDs, float64(s.Heap)/(1<<20))
}

// FDs counts this process's open descriptors, -1 without /proc.
func FDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents) - 1 // the directory handle ReadDir itself held
}

// Heap is the live heap once garbage is collected.
func Heap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// Settle polls until goroutines and descriptors are back at base (at most
// slack above it) and the heap is within heapSlack bytes of it; it fails
// the test with the goroutine dump and descriptor list when they are not
// within limit. It returns the last snapshot.
func Settle(t testing.TB, base Snapshot, slack int, heapSlack uint64, limit time.Duration) Snapshot {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		now := Snapshot{Goroutines: runtime.NumGoroutine(), FDs: FDs()}
		okG := now.Goroutines <= base.Goroutines+slack
		okF := base.FDs < 0 || now.FDs <= base.FDs+slack
		if okG && okF {
			now.Heap = Heap()
			if now.Heap <= base.Heap+heapSlack {
				return now
			}
		}
		if time.Now().After(deadline) {
			if now.Heap == 0 {
				now.Heap = Heap()
			}
			t.Fatalf("resources did not return to baseline within %s:\nbaseline %s\nnow      %s\nfds: %s\n%s",
				limit, base, now, fdList(), Goroutines())
			return now
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Goroutines is a dump of every goroutine but the testing framework's.
func Goroutines() string {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var keep []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "testing.(*T).Run") || strings.Contains(g, "testing.(*M).") ||
			strings.Contains(g, "leakcheck.Goroutines") || strings.Contains(g, "os/signal.") {
			continue
		}
		keep = append(keep, g)
	}
	return strings.Join(keep, "\n\n")
}

func fdList() string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var links []string
	for _, e := range ents {
		l, _ := os.Readlink("/proc/self/fd/" + e.Name())
		links = append(links, e.Name()+"->"+l)
	}
	return strings.Join(links, " ")
}
