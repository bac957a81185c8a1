//go:build linux

package measure

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// fineSleepMax: shorter waits sleep in nanosleep(2) on the stream's own
// thread instead of a Go timer, which wakes no earlier than about 1 ms:
// at 450 Mbit/s a 1 ms wake-up releases 56 KB back to back.
const fineSleepMax = 2 * time.Millisecond

// fineSleeper sleeps with nanosleep(2). A paced sender locks its goroutine
// to its thread (the thread ends with the goroutine) and sets the thread's
// timer slack to 1 µs: the default 50 µs slack doubles a short sleep. The
// syscall goes through the runtime, so a sleeping sender's P serves other
// goroutines when they need it.
type fineSleeper struct{ ts unix.Timespec }

func newFineSleeper() fineSleeper { return fineSleeper{} }

// lockForPacing pins a paced sender to its thread with a 1 µs timer slack.
// The goroutine never unlocks: its thread exits with it, slack and all.
func lockForPacing() {
	runtime.LockOSThread()
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1000, 0, 0, 0)
}

// sleep waits d; it reports false when it did not (the caller then uses a
// timer). An interrupted sleep (EINTR) returns early, which the pacer's
// loop tolerates.
func (f *fineSleeper) sleep(d time.Duration) bool {
	f.ts = unix.NsecToTimespec(max(int64(d), 1))
	_ = unix.Nanosleep(&f.ts, nil)
	return true
}
