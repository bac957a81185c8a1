package measure

import (
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
)

// Platform fast paths. fastpath_linux.go fills them in (MSG_TRUNC receive,
// sendfile for -Z, sendmmsg/recvmmsg batches, UDP GSO/GRO); elsewhere
// (fastpath_other.go) every stream keeps the portable loops of tcp.go and
// udp.go, which stay compiled and tested on Linux too.

// fastPath holds a stream's UDP batch primitives; nil fields mean the
// portable one-datagram-per-syscall loop.
type fastPath struct {
	tx udpBatchTx
	rx udpBatchRx

	truncRead bool // TCP receive with MSG_TRUNC
	sendfile  bool // TCP -Z send with sendfile

	// blockable: a TCP sender on the plain write path, which the data
	// phase may switch to the blocking-fd writer; blocking: it did, and
	// holds one slot of blockingSlots until its loop ends.
	blockable, blocking bool
}

// Kill switches, read once: IPERFMON_DISABLE_FASTPATH=1 keeps every stream
// on the portable loops, IPERFMON_DISABLE_GSO=1 keeps UDP batching but not
// GSO/GRO (as quic-go's QUIC_GO_DISABLE_GSO).
var (
	envPortable = envTrue("IPERFMON_DISABLE_FASTPATH")
	envNoGSO    = envTrue("IPERFMON_DISABLE_GSO")
	// IPERFMON_BLOCKING_SEND=0 keeps every TCP sender on the netpoller;
	// unset (or true) lets tests with few senders use blocking writes
	// (tcp_block_linux.go).
	envNoBlockingSend = envFalse("IPERFMON_BLOCKING_SEND")
)

// maxBlockingSenders caps the blocking-fd TCP senders per process: each one
// holds an OS thread while its write sleeps, so a test with more senders,
// or one that would take the process past the cap, stays on the netpoller.
const maxBlockingSenders = 16

var blockingSlots atomic.Int32 // blocking senders running in this process

// acquireBlockingSlots takes n slots at once, or none.
func acquireBlockingSlots(n int) bool {
	if n <= 0 || n > maxBlockingSenders {
		return false
	}
	for {
		used := blockingSlots.Load()
		if int(used)+n > maxBlockingSenders {
			return false
		}
		if blockingSlots.CompareAndSwap(used, used+int32(n)) {
			return true
		}
	}
}

func releaseBlockingSlot() { blockingSlots.Add(-1) }

// blockingCandidates counts the senders the data phase could switch to
// blocking writes (zero when IPERFMON_BLOCKING_SEND=0).
func blockingCandidates(streams []*dataStream) int {
	if envNoBlockingSend {
		return 0
	}
	n := 0
	for _, s := range streams {
		if s.fast.blockable {
			n++
		}
	}
	return n
}

func envTrue(name string) bool {
	v, err := strconv.ParseBool(os.Getenv(name))
	return err == nil && v
}

func envFalse(name string) bool {
	v, err := strconv.ParseBool(os.Getenv(name))
	return err == nil && !v
}

// warnOnce logs a fast-path problem once per process and kind (a missing
// fast path is not an error, but the operator should know it once).
var warned sync.Map // kind → struct{}

func warnOnce(log *slog.Logger, kind, msg string, args ...any) {
	if log == nil {
		return
	}
	if _, dup := warned.LoadOrStore(kind, struct{}{}); dup {
		return
	}
	log.Warn(msg, args...)
}
