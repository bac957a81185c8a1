//go:build !linux

package measure

// initFastPath: no platform fast paths here; streams use the portable loops.
func (s *dataStream) initFastPath() {}
