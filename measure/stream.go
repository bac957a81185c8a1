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
// Stop does move the connections' deadlines into the past to unblock reads
// and writes, so they are not reusable afterwards.
//
// Files: stream.go (lifecycle), tcp.go and udp.go (per-stream loops),
// pace.go (token bucket), stats.go (sampling, results, directions),
// cpu*.go (process CPU), tcpinfo_*.go (TCP_INFO).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
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

	// Portable forces the portable loops (tests; IPERFMON_DISABLE_FASTPATH=1),
	// NoGSO keeps batching but not UDP GSO/GRO (tests; IPERFMON_DISABLE_GSO=1).
	Portable, NoGSO bool
	// Log receives one-time fast-path warnings; nil keeps the engine silent.
	Log *slog.Logger

	Duration time.Duration // -t; informational (the client decides when to end)
	NoDelay  bool          // -N: keep TCP_NODELAY on; otherwise Nagle is enabled as in iperf3
	// Repeating sends iperf3's repeating pattern instead of random bytes
	// (--repeating-payload).
	Repeating bool

	// isClient says which end this is (Forward = the client sends).
	// onStart, when set, is called once the data phase has started and
	// before the sampler runs; onInterval receives every interval the
	// sampler cuts, grouped by direction (see live.go), on the sampler.
	isClient   bool
	onStart    func(d *dataPhase)
	onInterval func(d *dataPhase, dirs []DirectionResult)
}

// streamConfigFromParams derives the stream settings from the parameter JSON.
// Interval is not part of the parameters; it defaults to DefaultInterval and
// the client may override it.
func streamConfigFromParams(p *iperf3wire.Params) streamConfig {
	cfg := streamConfig{
		Protocol:   TCP,
		Length:     int(clampNonNeg(p.Len.Int())),
		Bitrate:    clampNonNeg(p.Bandwidth.Int()),
		Bytes:      clampNonNeg(p.Num.Int()),
		Blocks:     clampNonNeg(p.BlockCount.Int()),
		Counters64: p.UDPCounters64 != 0,
		Omit:       secondsToDuration(float64(p.Omit)),
		Interval:   DefaultInterval,
		ZeroCopy:   p.ZeroCopy != 0,
		Window:     int(clampNonNeg(p.Window.Int())),
		Duration:   secondsToDuration(float64(p.Time)),
		NoDelay:    p.NoDelay,
		Repeating:  p.RepeatingPay != 0,
	}
	if p.UDP {
		cfg.Protocol = UDP
	}
	if cfg.Length == 0 {
		if cfg.Protocol == UDP {
			cfg.Length = DefaultUDPLength
		} else {
			cfg.Length = DefaultTCPLength
		}
	}
	return cfg
}

func clampNonNeg(v int64) int64 {
	if v < 0 {
		return 0
	}
	return v
}

func secondsToDuration(s float64) time.Duration {
	if !(s > 0) { // also NaN
		return 0
	}
	if s > 1e9 {
		s = 1e9
	}
	return time.Duration(s * float64(time.Second))
}

// Receive buffer bounds: large enough for few syscalls per byte, bounded
// whatever -l says.
const (
	minTCPRecvBuf = 256 << 10
	maxTCPRecvBuf = 4 << 20
	udpRecvBuf    = 64 << 10 // any datagram fits
	udpSocketBuf  = 4 << 20  // asked for on UDP receivers when -w is not given
)

// dataStream is one data connection of a test, in either role.
type dataStream struct {
	ID     int
	Sender bool
	Conn   net.Conn

	cfg streamConfig

	isUD bool         // UDP stream
	tcp  *net.TCPConn // nil when Conn is not a TCP connection
	buf  []byte       // send block, or receive buffer

	// read is the receive primitive of TCP receivers, write the send
	// primitive of TCP senders. Platform fast paths (MSG_TRUNC, sendfile)
	// may replace them; they must not allocate.
	read  func([]byte) (int, error)
	write func([]byte) (int, error)
	fast  fastPath // UDP batch paths, set by initFastPath

	// Counters written by the stream goroutine, read by the sampler.
	bytes   atomic.Int64  // since the start, omit included
	packets atomic.Int64  // UDP sender: last sequence sent; receiver: highest seen
	lost    atomic.Int64  // UDP receiver: iperf3's cnt_error
	ooo     atomic.Int64  // UDP receiver: out-of-order datagrams
	jitter  atomic.Uint64 // UDP receiver: float64 bits, seconds

	// Values at the end of the omit period. UDP snapshots are taken by the
	// stream goroutine itself (omitReq) so that they are consistent.
	omitReq                                   atomic.Bool
	omitBytes, omitPackets, omitLost, omitOOO atomic.Int64

	// UDP receiver state, owned by the stream goroutine.
	rx udpRecvState

	err error // set by the stream goroutine, read after it ended

	// Owned by the sampler while running, by Stop afterwards.
	prev      sampleMark
	intervals []Interval
	tcpi      tcpStats
}

// newDataStream wraps an established data connection.
func newDataStream(id int, sender bool, conn net.Conn, cfg streamConfig) *dataStream {
	s := &dataStream{ID: id, Sender: sender, Conn: conn, cfg: cfg, isUD: cfg.Protocol == UDP}
	s.tcpi.retransBase = -1
	if tc, ok := conn.(*net.TCPConn); ok {
		s.tcp = tc
		// Go enables TCP_NODELAY on every connection; iperf3 only with -N.
		_ = tc.SetNoDelay(cfg.NoDelay)
		if cfg.Window > 0 {
			_ = tc.SetReadBuffer(cfg.Window)
			_ = tc.SetWriteBuffer(cfg.Window)
		}
	}
	if uc, ok := conn.(*net.UDPConn); ok {
		switch {
		case cfg.Window > 0:
			_ = uc.SetReadBuffer(cfg.Window)
			_ = uc.SetWriteBuffer(cfg.Window)
		case !sender:
			_ = uc.SetReadBuffer(udpSocketBuf) // best effort; the kernel caps it at rmem_max
		}
	}
	length := max(cfg.Length, 1)
	switch {
	case sender:
		s.buf = newPayload(length, cfg.Repeating)
	case s.isUD:
		s.buf = make([]byte, udpRecvBuf)
	default:
		s.buf = make([]byte, min(max(length, minTCPRecvBuf), maxTCPRecvBuf))
	}
	if conn != nil {
		s.read = conn.Read
		s.write = conn.Write
	}
	s.rx.first = true
	s.initFastPath()
	return s
}

// newPayload is n bytes to send: pseudo-random, as iperf3 sends, so that
// compressing links do not inflate the result; with repeating
// (--repeating-payload) iperf3's (and iperf2's) "0123456789" pattern.
func newPayload(n int, repeating bool) []byte {
	b := make([]byte, n)
	if repeating {
		for i := range b {
			b[i] = '0' + byte(i%10)
		}
		return b
	}
	r := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	for i := 0; i < len(b); i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// dataPhase runs every stream of one end.
type dataPhase struct {
	cfg     streamConfig
	streams []*dataStream // sorted by id
	ctx     context.Context

	start        time.Time // TEST_RUNNING
	measureStart time.Time // end of omit (== start without omit); sampler-owned until Stop
	stopTime     time.Time
	omitEnded    bool // sampler-owned until Stop

	turns bool // several streams: each loop yields after every block (see yield)

	halt     atomic.Bool   // Stop or ctx cancellation: loops end
	quit     chan struct{} // closed with halt
	haltOnce sync.Once
	stopping atomic.Bool // Stop was called: stream errors are expected
	stopOnce sync.Once
	stopCtx  func() bool // undoes context.AfterFunc

	omitting   atomic.Bool
	omitDoneCh chan struct{}

	done     chan struct{}
	doneOnce sync.Once

	// -n/-k budget of this end, counted from the end of omit as in iperf3.
	txBytes, txBlocks atomic.Int64
	rxBytes, rxBlocks atomic.Int64
	budgetSenders     atomic.Int32 // senders that have not used up the budget
	live              atomic.Int32 // stream goroutines still running

	wg          sync.WaitGroup
	samplerDone chan struct{}
	intervalAt  time.Time // start of the current interval; sampler-owned

	errMu sync.Mutex
	err   error

	cpu0       cpuSample
	cpu        CPU
	hasRetrans bool   // this end sends TCP and its kernel reports retransmits
	congestion string // TCP_CONGESTION of the first TCP stream, when known
}

// startDataPhase starts one goroutine per stream (sending or receiving) plus
// the interval sampler, and returns at once.
func startDataPhase(ctx context.Context, cfg streamConfig, streams []*dataStream) *dataPhase {
	sorted := append([]*dataStream(nil), streams...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	d := &dataPhase{
		cfg:         cfg,
		streams:     sorted,
		ctx:         ctx,
		quit:        make(chan struct{}),
		omitDoneCh:  make(chan struct{}),
		done:        make(chan struct{}),
		samplerDone: make(chan struct{}),
		cpu0:        readCPU(),
	}
	d.turns = len(sorted) > 1
	d.start = time.Now()
	d.measureStart = d.start
	d.intervalAt = d.start
	if cfg.Omit > 0 {
		d.omitting.Store(true)
	} else {
		d.omitEnded = true
		close(d.omitDoneCh)
	}
	if dl, ok := ctx.Deadline(); ok {
		for _, s := range sorted {
			_ = s.Conn.SetDeadline(dl)
		}
	}
	for _, s := range sorted {
		s.prev = sampleMark{retrans: -1}
		if s.Sender {
			d.hasRetrans = d.hasRetrans || (s.tcp != nil && tcpInfoSupported)
			if cfg.Bytes > 0 || cfg.Blocks > 0 {
				d.budgetSenders.Add(1)
			}
		}
		if s.tcp != nil && d.congestion == "" {
			d.congestion = tcpCongestion(s.tcp)
		}
		if s.Sender && s.tcp != nil {
			d.sampleTCPInfo(s, false) // baseline for retransmits
		}
	}
	d.live.Store(int32(len(sorted)))
	if len(sorted) == 0 {
		d.signalDone()
	}
	d.stopCtx = context.AfterFunc(ctx, d.abort)
	d.wg.Add(len(sorted))
	if cfg.onStart != nil {
		cfg.onStart(d)
	}
	for _, s := range sorted {
		go d.runStream(s)
	}
	go d.runSampler()
	return d
}

// Done is closed when this end's senders have reached the -n/-k budget, when
// the received bytes/blocks reached it (the client ends reverse tests so),
// or when every stream has ended (peer closed, error).
func (d *dataPhase) Done() <-chan struct{} { return d.done }

func (d *dataPhase) signalDone() { d.doneOnce.Do(func() { close(d.done) }) }

// yield makes a data phase's streams take turns after every block or
// batch, as iperf3's single loop writes one block per stream in turn. A
// loop that never blocks (loopback, a fast peer) is otherwise preempted
// only every 10 ms, and preempted goroutines queue up FIFO: with -P 1024
// on 2 Ps the control goroutine (TEST_END, results) waited seconds for a
// turn. With -P 4 on one P, one stream wrote for whole time slices while
// the others' send queues ran dry; against iperf3 -s on loopback that cost
// a fifth of the throughput (14.6 against 19.1 Gbit/s, docs/performance.md).
// A lone stream never yields: nothing else needs its P.
func (d *dataPhase) yield() {
	if d.turns {
		runtime.Gosched()
	}
}

// Stop ends the data phase and waits for all its goroutines.
func (d *dataPhase) Stop() {
	d.stopOnce.Do(func() {
		d.stopTime = time.Now()
		d.stopping.Store(true)
		d.haltAll()
		d.wg.Wait()
		<-d.samplerDone
		d.stopCtx()
		d.finish()
	})
}

// abort runs when ctx is cancelled before Stop.
func (d *dataPhase) abort() {
	d.setErr(d.ctx.Err())
	d.haltAll()
}

// haltAll makes every loop end: flags for the loops, a closed channel for
// the waits, and a past deadline for blocked reads and writes.
func (d *dataPhase) haltAll() {
	d.haltOnce.Do(func() {
		d.halt.Store(true)
		close(d.quit)
		past := time.Unix(1, 0)
		for _, s := range d.streams {
			_ = s.Conn.SetDeadline(past)
		}
	})
}

// Err reports the first stream error other than the expected end of a stream.
func (d *dataPhase) Err() error {
	d.errMu.Lock()
	defer d.errMu.Unlock()
	return d.err
}

func (d *dataPhase) setErr(err error) {
	if err == nil {
		return
	}
	d.errMu.Lock()
	if d.err == nil {
		d.err = err
	}
	d.errMu.Unlock()
}

func (d *dataPhase) runStream(s *dataStream) {
	defer d.wg.Done()
	var err error
	switch {
	case s.isUD && s.Sender:
		err = d.sendUDP(s)
	case s.isUD:
		err = d.recvUDP(s)
	case s.Sender:
		err = d.sendTCP(s)
	default:
		err = d.recvTCP(s)
	}
	if err != nil && !d.stopping.Load() && !errors.Is(err, io.EOF) {
		if ctxErr := d.ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
		s.err = err
		d.setErr(fmt.Errorf("data stream %d: %w", s.ID, err))
	}
	if d.live.Add(-1) == 0 {
		d.signalDone()
	}
}

// reserve claims one block of n bytes from this end's -n/-k budget. It
// returns false when the budget is used up (after the omit period; during
// omit the sender waits for the counters' reset, as iperf3 does).
func (d *dataPhase) reserve(n int) bool {
	if d.cfg.Bytes <= 0 && d.cfg.Blocks <= 0 {
		return true
	}
	for {
		inOmit := d.omitting.Load()
		ok := true
		if d.cfg.Blocks > 0 && d.txBlocks.Add(1) > d.cfg.Blocks {
			ok = false
		}
		if ok && d.cfg.Bytes > 0 && d.txBytes.Add(int64(n))-int64(n) >= d.cfg.Bytes {
			ok = false
		}
		if ok {
			return true
		}
		if !inOmit {
			return false
		}
		select {
		case <-d.omitDoneCh:
		case <-d.quit:
			return false
		}
	}
}

// senderExhausted records that one sender used up the budget.
func (d *dataPhase) senderExhausted() {
	if !d.halt.Load() && d.budgetSenders.Add(-1) == 0 {
		d.signalDone()
	}
}

// received counts data that arrived, for the client's end-of-test decision
// in reverse mode (bytes or blocks received reach the budget).
func (d *dataPhase) received(n int, datagram bool) {
	if d.cfg.Bytes <= 0 && d.cfg.Blocks <= 0 {
		return
	}
	b := d.rxBytes.Add(int64(n))
	var k int64
	if datagram {
		k = d.rxBlocks.Add(1)
	} else {
		k = b / int64(max(d.cfg.Length, 1))
	}
	if d.omitting.Load() {
		return
	}
	if (d.cfg.Bytes > 0 && b >= d.cfg.Bytes) || (d.cfg.Blocks > 0 && k >= d.cfg.Blocks) {
		d.signalDone()
	}
}

// isRefused reports a connected UDP socket's ICMP port-unreachable error:
// the peer's socket is not there (yet or any more). The datagram was not sent.
func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}

// isNoBuffer reports a transient lack of socket buffer space.
func isNoBuffer(err error) bool {
	return errors.Is(err, syscall.ENOBUFS)
}

// isDeadline reports a deadline error.
func isDeadline(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }
