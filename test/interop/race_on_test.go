//go:build race

package interop

// raceEnabled: the race detector slows our receivers several times, so
// more data sits in socket buffers at TEST_END.
const raceEnabled = true
