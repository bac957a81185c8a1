package measure

// The data-stream engine shared by the client and the server. Both ends run
// the same code: an end owns a set of established data connections (TCP
// streams or connected UDP sockets), some of which it sends on and some it
// receives on, and runs them from TEST_RUNNING until told to stop.
//
// CONTRACT (stable; client.go and server.go are written against it):
//
//	cfg := streamConfigFromParams(p)           // identical at both ends
//	s := newDataStream(id, sender, conn, cfg)   // conn: *net.TCPConn or connected *net.UDPConn
//	dp := startDataPhase(ctx, cfg, streams)     // at TEST_RUNNING
//	<-dp.Done()                                 // senders reached -n/-k (never closes for -t tests)
//	dp.Stop()                                   // at TEST_END; waits for every goroutine
//	local := dp.Results()                       // this end's results JSON (cpu + streams)
//	dirs := buildDirections(cfg, isClient, dp, local, remote) // Result.Directions
//
// Stop never closes the connections; the caller closes them after Stop.

import (
	"context"
	"net"
	"time"
)

// streamConfig is the part of a test that shapes its data streams; both
// ends derive it from the same parameter JSON.
type streamConfig struct {
	Protocol   Protocol
	Length     int           // block / datagram size
	Bitrate    int64         // pacing per stream, bits/s; 0 = unlimited
	Bytes      int64         // -n, test-wide (all sending streams of this end together); 0 = none
	Blocks     int64         // -k, test-wide; 0 = none
	Counters64 bool          // 64-bit UDP sequence numbers
	Omit       time.Duration // samples before Omit are marked omitted and excluded from totals
	Interval   time.Duration // interval sample period; <= 0 disables samples
	ZeroCopy   bool
	Window     int // socket buffer, 0 = autotune
}

// streamConfigFromParams derives the stream settings from the parameter JSON.
func streamConfigFromParams(p *Params) streamConfig {
	panic("TODO(engine)")
}

// dataStream is one data connection of a test, in either role.
type dataStream struct {
	ID     int
	Sender bool
	Conn   net.Conn
}

// newDataStream wraps an established data connection.
func newDataStream(id int, sender bool, conn net.Conn, cfg streamConfig) *dataStream {
	panic("TODO(engine)")
}

// dataPhase runs every stream of one end.
type dataPhase struct{}

// startDataPhase starts one goroutine per stream (sending or receiving) plus
// the interval sampler, and returns at once.
func startDataPhase(ctx context.Context, cfg streamConfig, streams []*dataStream) *dataPhase {
	panic("TODO(engine)")
}

// Done is closed when this end's senders have reached the -n/-k budget, or
// when every stream has ended (peer closed, error).
func (d *dataPhase) Done() <-chan struct{} { panic("TODO(engine)") }

// Stop ends the data phase and waits for all its goroutines.
func (d *dataPhase) Stop() { panic("TODO(engine)") }

// Err reports the first stream error other than the expected end of a stream.
func (d *dataPhase) Err() error { panic("TODO(engine)") }

// Results returns this end's results JSON: CPU use since start and one entry
// per stream (sender: bytes sent; receiver: bytes received, jitter, lost...).
func (d *dataPhase) Results() *Results { panic("TODO(engine)") }

// buildDirections combines this end's view with the peer's results JSON into
// one DirectionResult per direction (Forward first). isClient says which end
// this is, so that "forward" always means client → server.
func buildDirections(cfg streamConfig, isClient bool, d *dataPhase, local, remote *Results) []DirectionResult {
	panic("TODO(engine)")
}
