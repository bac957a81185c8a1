package main

import "time"

// rerunPolicy decides what to do with a disturbed run. On a shared VM the
// host takes CPUs away in bursts and other jobs run on the same CPUs; a run
// that lost more than maxSteal percent of a watched CPU to the hypervisor,
// or whose CPUs were more than maxOther percent busy with other work,
// measures the host, not the tools, so it is discarded and, within bounds,
// run again at once (same place in the alternating order, so neither tool
// gets the quieter moment by order).
type rerunPolicy struct {
	maxSteal float64       // percent; a run above it is disturbed
	maxOther float64       // percent; likewise
	perKey   int           // extra runs at most per (mode, pairing)
	budget   time.Duration // wall time at most for all extra runs together
}

type verdict int

const (
	keep    verdict = iota // clean: counts
	rerun                  // disturbed: discard and run again
	discard                // disturbed, no rerun left: discard, move on
)

func (v verdict) String() string { return [...]string{"keep", "rerun", "discard"}[v] }

// decide judges a run by what disturbed it. reruns is how many extra
// runs this (mode, pairing) had so far, spent the wall time all extra runs
// took so far, and next the expected length of one more.
func (p rerunPolicy) decide(d disturbance, reruns int, spent, next time.Duration) verdict {
	switch {
	case d.steal <= p.maxSteal && d.other <= p.maxOther:
		return keep
	case reruns < p.perKey && spent+next <= p.budget:
		return rerun
	default:
		return discard
	}
}
