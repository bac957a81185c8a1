package measure

import (
	"fmt"
	"log/slog"
	"net"
	"time"
)

// Protocol is the transport of the data streams.
type Protocol string

// Transports a test can use.
const (
	TCP Protocol = "tcp"
	UDP Protocol = "udp"
)

// Family restricts the address family used to reach the server.
type Family string

// Address families.
const (
	FamilyAuto Family = "auto"
	FamilyIPv4 Family = "ipv4"
	FamilyIPv6 Family = "ipv6"
)

// Defaults shared by the client, the server and the config package.
const (
	DefaultPort           = 5201
	DefaultDuration       = 10 * time.Second
	DefaultTCPLength      = 128 * 1024
	DefaultUDPLength      = 1460
	DefaultUDPBitrate     = 1 << 20 // bits/s: iperf3's UDP_RATE, 1 Mbit/s in its binary units
	DefaultConnectTimeout = 5 * time.Second
	DefaultInterval       = time.Second
	// DefaultGrace is added to duration + omit to form the whole-test deadline.
	DefaultGrace = 15 * time.Second
	// MaxParallel is the largest -P iperf3 accepts (and the CLI and config
	// allow).
	MaxParallel = 128
	// MaxStreams is the largest -P a library caller may ask for: beyond
	// iperf3's limit, for a measure.Server whose MaxParallel allows it.
	// A stock iperf3 server refuses more than MaxParallel.
	MaxStreams = 1024
)

// BitrateUnlimited is iperf3's "-b 0": send as fast as possible.
const BitrateUnlimited int64 = -1

// Test describes one iperf3 test as the client asks for it. The zero value
// of every field means iperf3's default.
type Test struct {
	Host string // server host name or address
	Port int    // server port; 0 means 5201

	Protocol Protocol // TCP (default) or UDP
	Reverse  bool     // -R: server sends, over the client's connections
	Bidir    bool     // --bidir: both ends send

	Duration time.Duration // -t; 0 means 10s unless Bytes or Blocks is set
	Bytes    int64         // -n: end after this many bytes
	Blocks   int64         // -k: end after this many blocks (datagrams)
	Omit     time.Duration // -O: warm-up excluded from the results
	Interval time.Duration // -i: interval report period; 0 means 1s, <0 disables

	Parallel int   // -P: streams; 0 means 1
	Bitrate  int64 // -b: bits/s; 0 means the default (UDP 1M, TCP unlimited), BitrateUnlimited means -b 0
	Length   int   // -l: block or datagram size; 0 means 128 KiB (TCP) / 1460 (UDP)
	Window   int   // -w: socket buffer size; 0 leaves autotuning on

	Congestion string // -C
	MSS        int    // -M
	NoDelay    bool   // -N
	TOS        int    // -S / --dscp (already shifted: DSCP<<2)
	ZeroCopy   bool   // -Z
	// MPTCP (-m) opens the control and TCP data connections as Multipath
	// TCP; Run refuses it where the kernel lacks MPTCP (see MPTCPAvailable).
	MPTCP bool

	Family      Family // -4 / -6
	BindAddress string // -B
	ClientPort  int    // --cport

	ConnectTimeout time.Duration // connect timeout; 0 means 5s
	Timeout        time.Duration // whole-test deadline; 0 means Duration+Omit+15s

	// Latency probes the server with ICMP echo just before and during the
	// data phase (Result.Latency); see ProbeInterval.
	Latency bool

	UDPCounters64   bool // --udp-counters-64bit
	GetServerOutput bool // --get-server-output

	// Options of newer iperf3 releases (see docs/cli.md).
	BindDevice       string              // --bind-dev / -B addr%dev: SO_BINDTODEVICE on every socket
	DontFragment     bool                // --dont-fragment: IPv4 DF on UDP datagrams
	FQRate           int64               // --fq-rate: bits/s per stream, SO_MAX_PACING_RATE (Linux fq pacing)
	SndTimeout       time.Duration       // --snd-timeout: TCP_USER_TIMEOUT on data streams
	ControlKeepAlive net.KeepAliveConfig // --cntl-ka: TCP keepalive of the control connection (Enable)
	RepeatingPayload bool                // --repeating-payload
	Title            string              // -T: sent to the server as iperf3 does
	ExtraData        string              // --extra-data: sent to the server as iperf3 does

	// RSA authentication: the token is encrypted with RSAPublicKey (PEM).
	Username        string
	Password        string
	RSAPublicKey    []byte
	UsePKCS1Padding bool // --use-pkcs1-padding for servers older than 3.17

	// Logger receives debug output; nil keeps the package silent.
	Logger *slog.Logger `json:"-"`

	// OnStart and OnInterval follow the test while it runs, for reports
	// printed live as iperf3 prints them. OnStart is called once when the
	// data phase starts, with a Result holding the addresses, cookie,
	// socket facts and streams but no figures; OnInterval at the end of
	// every interval (-i), with a Result whose streams and directions hold
	// only that interval. Both are called in order from one goroutine of
	// the test, never from the data path, and all before Run returns; a
	// slow hook delays later reports, not the measurement.
	OnStart    func(*Result) `json:"-"`
	OnInterval func(*Result) `json:"-"`
}

// Direction names which way data flows on a set of streams.
type Direction string

// Directions of data flow, relative to the client.
const (
	Forward Direction = "forward" // client sends, server receives
	Reverse Direction = "reverse" // server sends, client receives
)

// WithDefaults returns a copy of t with iperf3's defaults filled in.
func (t Test) WithDefaults() Test {
	if t.Port == 0 {
		t.Port = DefaultPort
	}
	if t.Protocol == "" {
		t.Protocol = TCP
	}
	if t.Family == "" {
		t.Family = FamilyAuto
	}
	if t.Duration == 0 && t.Bytes == 0 && t.Blocks == 0 {
		t.Duration = DefaultDuration
	}
	if t.Interval == 0 {
		t.Interval = DefaultInterval
	}
	if t.Parallel == 0 {
		t.Parallel = 1
	}
	if t.Length == 0 {
		if t.Protocol == UDP {
			t.Length = DefaultUDPLength
		} else {
			t.Length = DefaultTCPLength
		}
	}
	if t.Bitrate == 0 && t.Protocol == UDP {
		t.Bitrate = DefaultUDPBitrate
	}
	if t.ConnectTimeout == 0 {
		t.ConnectTimeout = DefaultConnectTimeout
	}
	if t.Timeout == 0 {
		t.Timeout = t.Duration + t.Omit + DefaultGrace
	}
	return t
}

// Validate reports the first impossible setting of a test that has had its
// defaults applied.
func (t Test) Validate() error {
	switch {
	case t.Host == "":
		return fmt.Errorf("host: empty; give a server name or address")
	case t.Port < 1 || t.Port > 65535:
		return fmt.Errorf("port: %d out of range 1..65535", t.Port)
	case t.Protocol != TCP && t.Protocol != UDP:
		return fmt.Errorf("protocol: %q; allowed: tcp, udp", t.Protocol)
	case t.Reverse && t.Bidir:
		return fmt.Errorf("reverse and bidir: choose one")
	case t.Parallel < 1 || t.Parallel > MaxStreams:
		return fmt.Errorf("parallel: %d out of range 1..%d", t.Parallel, MaxStreams)
	case t.Duration < 0 || t.Omit < 0:
		return fmt.Errorf("duration and omit must not be negative")
	case t.Bytes < 0 || t.Blocks < 0:
		return fmt.Errorf("bytes and blocks must not be negative")
	case t.Length < 1:
		return fmt.Errorf("length: %d must be positive", t.Length)
	case t.Protocol == UDP && t.Length < 16:
		return fmt.Errorf("length: %d too small for UDP; allowed: 16..65507", t.Length)
	case t.Protocol == UDP && t.Length > 65507:
		return fmt.Errorf("length: %d too large for UDP; allowed: 16..65507", t.Length)
	case t.Protocol == TCP && t.Length > 1<<30:
		return fmt.Errorf("length: %d too large; allowed up to 1G", t.Length)
	case t.Bitrate < BitrateUnlimited:
		return fmt.Errorf("bitrate: %d must not be negative", t.Bitrate)
	case t.Family != FamilyAuto && t.Family != FamilyIPv4 && t.Family != FamilyIPv6:
		return fmt.Errorf("family: %q; allowed: auto, ipv4, ipv6", t.Family)
	case t.ClientPort < 0 || t.ClientPort > 65535:
		return fmt.Errorf("cport: %d out of range 0..65535", t.ClientPort)
	case t.FQRate < 0 || t.SndTimeout < 0:
		return fmt.Errorf("fq-rate and snd-timeout must not be negative")
	case t.TOS < 0 || t.TOS > 255:
		return fmt.Errorf("tos: %d out of range 0..255", t.TOS)
	case t.Username != "" && len(t.RSAPublicKey) == 0:
		return fmt.Errorf("username given without an RSA public key")
	}
	return nil
}
