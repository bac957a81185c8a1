package measure

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
)

// iperf3's own bounds on parameters (iperf.h).
const (
	maxTimeSeconds  = 86400
	maxOmitSeconds  = 600
	maxTCPBlockSize = 1 << 20
	minUDPBlockSize = 16
	maxUDPBlockSize = 65535 - 8 - 20
	maxSocketBuffer = 512 << 20
	maxMSS          = 9 * 1024
	ieBadTOS        = 21
	ieMSS           = 10
	ieReverseBidir  = 25
	ieStreamListen  = 202
)

// The server reads at most this much of the client's results JSON: one
// entry per stream is well under 1 KiB.
const maxClientResultsJSON = 1 << 20

// paramError is a refusal of the client's parameters: the iperf3 error
// number to send and what was wrong.
type paramError struct {
	num int32
	msg string
}

func (e *paramError) Error() string { return e.msg }

func refuse(num int32, format string, args ...any) *paramError {
	return &paramError{num: num, msg: fmt.Sprintf(format, args...)}
}

// rawParamFlags are parameter keys the Params type does not carry.
type rawParamFlags struct {
	SCTP *bool `json:"sctp"`
}

// decodeParams decodes the parameter JSON leniently (numbers may be floats
// or huge) and notes keys this server cannot honour.
func decodeParams(raw json.RawMessage) (*iperf3wire.Params, *paramError) {
	var p iperf3wire.Params
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, refuse(iperf3wire.IERECVPARAMS, "parameters: %v", err)
	}
	var f rawParamFlags
	_ = json.Unmarshal(raw, &f)
	if f.SCTP != nil && *f.SCTP {
		return &p, refuse(iperf3wire.IEUNIMP, "parameters: SCTP is not supported; use TCP or UDP")
	}
	// "mptcp" is served as iperf3 serves it: over whatever the listener
	// is (MPTCP with ListenMPTCP; otherwise the client's kernel falls
	// back to TCP).
	return &p, nil
}

// checkParams applies iperf3's rules and this server's limits.
func (s *Server) checkParams(p *iperf3wire.Params) *paramError {
	udp := p.UDP
	parallel := p.Parallel.Int()
	if parallel == 0 {
		parallel = 1
	}
	switch {
	case p.Time < 0 || p.Time > maxTimeSeconds:
		return refuse(iperf3wire.IEDURATION, "duration %v s; allowed 0..%d", float64(p.Time), maxTimeSeconds)
	case p.Omit < 0 || p.Omit > maxOmitSeconds:
		return refuse(iperf3wire.IEOMIT, "omit %v s; allowed 0..%d", float64(p.Omit), maxOmitSeconds)
	case p.Num < 0 || p.BlockCount < 0:
		return refuse(iperf3wire.IERECVPARAMS, "bytes (-n) and blocks (-k) must not be negative")
	case parallel < 1 || parallel > int64(s.maxParallel()):
		return refuse(iperf3wire.IENUMSTREAMS, "%d parallel streams; this server allows 1..%d", parallel, s.maxParallel())
	case p.Reverse && p.Bidirectional:
		return refuse(ieReverseBidir, "reverse and bidirectional together")
	case p.Window < 0 || p.Window > maxSocketBuffer:
		return refuse(iperf3wire.IEBUFSIZE, "window %d; allowed 0..%d", p.Window.Int(), maxSocketBuffer)
	case p.MSS < 0 || p.MSS > maxMSS:
		return refuse(ieMSS, "MSS %d; allowed 0..%d", p.MSS.Int(), maxMSS)
	case p.TOS < 0 || p.TOS > 255:
		return refuse(ieBadTOS, "TOS %d; allowed 0..255", p.TOS.Int())
	case p.Bandwidth < 0 || p.FQRate < 0:
		return refuse(iperf3wire.IERECVPARAMS, "bitrate must not be negative")
	case !udp && (p.Len < 0 || p.Len > maxTCPBlockSize):
		return refuse(iperf3wire.IEBLOCKSIZE, "block size %d; allowed 1..%d", p.Len.Int(), maxTCPBlockSize)
	case udp && p.Len != 0 && (p.Len < minUDPBlockSize || p.Len > maxUDPBlockSize):
		return refuse(iperf3wire.IEUDPBLOCKSIZE, "UDP datagram size %d; allowed %d..%d", p.Len.Int(), minUDPBlockSize, maxUDPBlockSize)
	}
	if maxDur := s.maxDuration(); maxDur > 0 {
		d := time.Duration(float64(p.Time+p.Omit) * float64(time.Second))
		untimed := p.Time == 0 && p.Num == 0 && p.BlockCount == 0 // -t 0: forever
		if d > maxDur || untimed {
			return refuse(iperf3wire.IEDURATION, "duration + omit %s; this server allows up to %s", d, maxDur)
		}
	}
	if s.MaxBitrate > 0 {
		mult := parallel
		if p.Bidirectional {
			mult *= 2
		}
		for _, rate := range []int64{p.Bandwidth.Int(), p.FQRate.Int()} {
			if rate > 0 && (rate > s.MaxBitrate || rate*mult > s.MaxBitrate) {
				return refuse(iperf3wire.IETOTALRATE, "total bitrate %d bit/s (-b × -P); this server allows up to %d", rate*mult, s.MaxBitrate)
			}
		}
	}
	return nil
}

// testFromParams describes the client's request as a Test (Host empty).
func testFromParams(p *iperf3wire.Params) Test {
	t := Test{
		Protocol:        TCP,
		Reverse:         p.Reverse,
		Bidir:           p.Bidirectional,
		Duration:        time.Duration(float64(p.Time) * float64(time.Second)),
		Bytes:           max(p.Num.Int(), 0),
		Blocks:          max(p.BlockCount.Int(), 0),
		Omit:            time.Duration(float64(p.Omit) * float64(time.Second)),
		Parallel:        int(max(p.Parallel.Int(), 1)),
		Bitrate:         max(p.Bandwidth.Int(), 0),
		Length:          int(max(p.Len.Int(), 0)),
		Window:          int(max(p.Window.Int(), 0)),
		Congestion:      p.Congestion,
		MSS:             int(max(p.MSS.Int(), 0)),
		NoDelay:         p.NoDelay,
		TOS:             int(max(p.TOS.Int(), 0)),
		ZeroCopy:        p.ZeroCopy != 0,
		UDPCounters64:   p.UDPCounters64 != 0,
		GetServerOutput: p.GetServerOutput != 0,
	}
	if p.UDP {
		t.Protocol = UDP
		if t.Bitrate == 0 {
			t.Bitrate = BitrateUnlimited // the client sent -b 0
		}
	}
	if t.Length == 0 {
		t.Length = DefaultTCPLength
		if t.Protocol == UDP {
			t.Length = DefaultUDPLength
		}
	}
	return t
}
