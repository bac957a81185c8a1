package measure

// progress returns a number that grows while data moves on any stream of
// the phase; the server's idle check and bitrate limit read it.
func (d *dataPhase) progress() int64 { return 0 } // TODO: wire to the engine's counters
