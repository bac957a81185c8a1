//go:build !linux

package measure

import "time"

// fineSleepMax: elsewhere every wait uses a Go timer.
const fineSleepMax = 0

type fineSleeper struct{}

func newFineSleeper() fineSleeper { return fineSleeper{} }

func (f *fineSleeper) sleep(time.Duration) bool { return false }
