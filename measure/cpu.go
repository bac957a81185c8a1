package measure

import "time"

// cpuSample is the process CPU time at one moment.
type cpuSample struct {
	wall       time.Time
	user, sys  time.Duration
	haveRusage bool
}

// cpuSince returns CPU use between two samples as iperf3 computes it:
// user+system time of the whole process over wall time, in percent (it may
// exceed 100 with several busy threads).
func cpuSince(a, b cpuSample) CPU {
	wall := b.wall.Sub(a.wall).Seconds()
	if wall <= 0 || !a.haveRusage || !b.haveRusage {
		return CPU{}
	}
	user := (b.user - a.user).Seconds()
	sys := (b.sys - a.sys).Seconds()
	return CPU{
		TotalPercent:  100 * (user + sys) / wall,
		UserPercent:   100 * user / wall,
		SystemPercent: 100 * sys / wall,
	}
}
