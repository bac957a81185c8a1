package measure

import (
	"runtime"
	"sync"
)

// maxDataProcs caps the Ps a data phase asks for.
const maxDataProcs = 16

// dataProcs raises GOMAXPROCS to the number of streams of the running data
// phases (at most maxDataProcs) and restores it when the last one ends.
//
// Why: iperf3 since 3.16 runs a thread per stream, so each stream is in
// write(2) or recv(2) on its own while the kernel time-slices the threads.
// With GOMAXPROCS at the CPU count (1 for a pinned process, 2 here) at most
// that many of our streams are in a syscall at once (the data syscalls
// hold their P, see rawWriter), and on loopback the streams' ACK and
// receive work then lands on the sender: against iperf3 3.22, -P 4, 8 and
// 16 clients reached 0.3-0.99 of its rate with one P per CPU and 0.97-1.9
// with one P per stream (docs/performance.md).
var dataProcs struct {
	mu   sync.Mutex
	base int                // GOMAXPROCS before the first phase raised it
	want map[*dataPhase]int // running phases and their stream counts
}

// raiseProcs is called when a data phase starts.
func (d *dataPhase) raiseProcs(streams int) {
	n := min(streams, maxDataProcs)
	if n <= 1 {
		return
	}
	dataProcs.mu.Lock()
	defer dataProcs.mu.Unlock()
	if len(dataProcs.want) == 0 {
		dataProcs.base = runtime.GOMAXPROCS(0)
		dataProcs.want = map[*dataPhase]int{}
	}
	dataProcs.want[d] = n
	setDataProcs()
}

// releaseProcs is called when a data phase has stopped.
func (d *dataPhase) releaseProcs() {
	dataProcs.mu.Lock()
	defer dataProcs.mu.Unlock()
	if _, ok := dataProcs.want[d]; !ok {
		return
	}
	delete(dataProcs.want, d)
	setDataProcs()
}

// setDataProcs applies the largest want, never below the base.
func setDataProcs() {
	n := dataProcs.base
	for _, w := range dataProcs.want {
		n = max(n, w)
	}
	if runtime.GOMAXPROCS(0) != n {
		runtime.GOMAXPROCS(n)
	}
}
