//go:build linux

package measure

import (
	"time"

	"golang.org/x/sys/unix"
)

// fineSleepMax: shorter waits sleep in nanosleep(2) on the stream's own
// thread instead of a Go timer, which wakes no earlier than about 1 ms:
// at 450 Mbit/s a 1 ms wake-up releases 56 KB back to back.
const fineSleepMax = 2 * time.Millisecond

// fineSleeper sleeps with nanosleep(2). The syscall goes through the
// runtime, so a sleeping sender's P serves other goroutines when they need
// it. The thread keeps the default 50 µs timer slack: locking a paced
// sender to a thread with a 1 µs slack made each sleep 50-80 µs shorter,
// but every wake-up whose P had been lent out then needed a hand-off to
// the locked thread, and under the race detector on a loaded host a
// 20 Mbit/s sender reached 7.6.
type fineSleeper struct{ ts unix.Timespec }

func newFineSleeper() fineSleeper { return fineSleeper{} }

// sleep waits d; it reports false when it did not (the caller then uses a
// timer). An interrupted sleep (EINTR) returns early, which the pacer's
// loop tolerates.
func (f *fineSleeper) sleep(d time.Duration) bool {
	f.ts = unix.NsecToTimespec(max(int64(d), 1))
	_ = unix.Nanosleep(&f.ts, nil)
	return true
}
