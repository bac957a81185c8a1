package measure

import (
	"log/slog"
	"os"
	"strconv"
	"sync"
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
	rawWrite  bool // TCP send with rawWriter: returns as soon as the socket is full
}

// Kill switches, read once: IPERFMON_DISABLE_FASTPATH=1 keeps every stream
// on the portable loops, IPERFMON_DISABLE_GSO=1 keeps UDP batching but not
// GSO/GRO (as quic-go's QUIC_GO_DISABLE_GSO).
var (
	envPortable = envTrue("IPERFMON_DISABLE_FASTPATH")
	envNoGSO    = envTrue("IPERFMON_DISABLE_GSO")
)

func envTrue(name string) bool {
	v, err := strconv.ParseBool(os.Getenv(name))
	return err == nil && v
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
