package measure

// progress returns the bytes moved so far on every stream of the phase,
// both ways; the server's idle check and bitrate limit watch it.
func (d *dataPhase) progress() int64 {
	var n int64
	for _, s := range d.streams {
		n += s.bytes.Load()
	}
	return n
}
