//go:build unix

package measure

import (
	"time"

	"golang.org/x/sys/unix"
)

// readCPU samples getrusage(RUSAGE_SELF), as iperf3's cpu_util does.
func readCPU() cpuSample {
	s := cpuSample{wall: time.Now()}
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) == nil {
		s.user = time.Duration(ru.Utime.Nano())
		s.sys = time.Duration(ru.Stime.Nano())
		s.haveRusage = true
	}
	return s
}
