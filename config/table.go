// Package config is the one place the [[inputs.iperf3]] table is decoded
// and validated, for the Telegraf plugin and for the iperfmon binary alike.
// Its value types implement encoding.TextUnmarshaler, so Telegraf's own
// TOML decoder and Load decode a table the same way.
package config

import (
	"time"
)

// Directions a table may list.
const (
	DirectionForward = "forward" // client sends
	DirectionReverse = "reverse" // server sends (-R)
	DirectionBidir   = "bidir"   // both send (--bidir)
)

// Table is one [[inputs.iperf3]] table. The toml tags are the keys users
// write; see plugins/inputs/iperf3/sample.conf.
type Table struct {
	Servers    []string `toml:"servers"`
	Schedule   string   `toml:"schedule"`
	Splay      Duration `toml:"splay"`
	Protocol   string   `toml:"protocol"`
	Directions []string `toml:"directions"`
	Duration   Duration `toml:"duration"`
	Omit       Duration `toml:"omit"`
	Parallel   int      `toml:"parallel"`
	Bitrate    Rate     `toml:"bitrate"`
	Length     Size     `toml:"length"`
	Window     Size     `toml:"window"`
	TOS        int      `toml:"tos"`
	Family     string   `toml:"family"`

	ConnectTimeout Duration `toml:"connect_timeout"`
	Timeout        Duration `toml:"timeout"`
	BusyRetries    int      `toml:"busy_retries"`
	BusyBackoff    Duration `toml:"busy_backoff"`

	Username string `toml:"username"`
	// Password is the password key's value. Its tag is "-" so that the
	// Telegraf plugin can take the key as a config.Secret (secret stores,
	// @{store:key}) in a field of its own; Load decodes it here.
	Password     string `toml:"-"`
	RSAPublicKey string `toml:"rsa_public_key"` // path to the server's PEM public key

	IntervalMetrics bool `toml:"interval_metrics"`
	// Latency probes idle and loaded RTT with ICMP echo (on in
	// DefaultTable; a table built in Go leaves it off unless set).
	Latency bool `toml:"latency"`

	// Fleets: exclusive wall-clock slots computed from one shared config
	// (see fleet.go).
	Fleet     []string `toml:"fleet"`      // every agent that runs this table
	Mesh      []string `toml:"mesh"`       // "name=host[:port]": every agent tests every other
	Agent     string   `toml:"agent"`      // this agent's name; default: the host name
	SlotGuard Duration `toml:"slot_guard"` // added to duration + omit to make a slot
	// Alias is Telegraf's per-plugin alias (Telegraf reads it from the
	// table and still hands the table to the plugin, so both see it), and
	// the module name of iperfmon exporter's /probe.
	Alias string `toml:"alias"`
	// AllowedTargets limits what /probe may test with this table as its
	// module: host names, addresses, host:port or CIDRs. Empty: any.
	AllowedTargets []string `toml:"allowed_targets"`

	// rsaKey is the PEM read from RSAPublicKey by Validate.
	rsaKey []byte
	// src holds each key's value as written, when decoded from a file, so
	// that errors quote the user's text ("1m", not "1m0s").
	src map[string]string
}

// Defaults of the keys a table may leave out.
const (
	DefaultProtocol       = "tcp"
	DefaultFamily         = "auto"
	DefaultDuration       = 10 * time.Second
	DefaultParallel       = 1
	DefaultConnectTimeout = 5 * time.Second
	DefaultBusyRetries    = 3
	DefaultBusyBackoff    = 5 * time.Second
	DefaultSlotGuard      = 2 * time.Second
)

// DefaultDirections is the default of the directions key.
func DefaultDirections() []string { return []string{DirectionForward, DirectionReverse} }

// DefaultTable returns a table with every documented default filled in
// and no servers. Decode a user's table on top of it.
func DefaultTable() Table {
	return Table{
		Protocol:       DefaultProtocol,
		Directions:     DefaultDirections(),
		Duration:       Duration(DefaultDuration),
		Parallel:       DefaultParallel,
		Family:         DefaultFamily,
		ConnectTimeout: Duration(DefaultConnectTimeout),
		BusyRetries:    DefaultBusyRetries,
		BusyBackoff:    Duration(DefaultBusyBackoff),
		SlotGuard:      Duration(DefaultSlotGuard),
		Latency:        true,
	}
}

// SetDefaults fills the keys of a table built in Go whose zero value is
// never a valid setting (protocol, family, directions, duration, parallel,
// connect_timeout, busy_backoff). busy_retries = 0 is valid, so it is left
// alone: start from DefaultTable to get its default of 3.
func (t *Table) SetDefaults() {
	if t.Protocol == "" {
		t.Protocol = DefaultProtocol
	}
	if t.Family == "" {
		t.Family = DefaultFamily
	}
	if len(t.Directions) == 0 {
		t.Directions = DefaultDirections()
	}
	if t.Duration == 0 {
		t.Duration = Duration(DefaultDuration)
	}
	if t.Parallel == 0 {
		t.Parallel = DefaultParallel
	}
	if t.ConnectTimeout == 0 {
		t.ConnectTimeout = Duration(DefaultConnectTimeout)
	}
	if t.BusyBackoff == 0 {
		t.BusyBackoff = Duration(DefaultBusyBackoff)
	}
	if t.SlotGuard == 0 {
		t.SlotGuard = Duration(DefaultSlotGuard)
	}
}

// TestTimeout is the whole-test deadline: timeout, or duration + omit +
// 15s when timeout is empty.
func (t *Table) TestTimeout() time.Duration {
	if t.Timeout > 0 {
		return time.Duration(t.Timeout)
	}
	return time.Duration(t.Duration) + time.Duration(t.Omit) + 15*time.Second
}

// keys lists every key of the table in declaration order.
var keys = []string{
	"servers", "schedule", "splay", "protocol", "directions", "duration", "omit",
	"parallel", "bitrate", "length", "window", "tos", "family", "connect_timeout",
	"timeout", "busy_retries", "busy_backoff", "username", "password",
	"rsa_public_key", "interval_metrics", "latency", "fleet", "mesh", "agent", "slot_guard",
	"alias", "allowed_targets",
}

// keyKinds says what type of TOML value each key takes.
var keyKinds = map[string]string{
	"servers":          `a list of strings, e.g. ["iperf.example.net", "192.0.2.7:5202"]`,
	"schedule":         "a string",
	"splay":            allowedDuration,
	"protocol":         `"tcp" or "udp"`,
	"directions":       `a list of "forward", "reverse", "bidir"`,
	"duration":         allowedDuration,
	"omit":             allowedDuration,
	"parallel":         "an integer 1..128",
	"bitrate":          allowedRate,
	"length":           allowedSize,
	"window":           allowedSize,
	"tos":              "an integer 0..255",
	"family":           `"auto", "ipv4" or "ipv6"`,
	"connect_timeout":  allowedDuration,
	"timeout":          allowedDuration,
	"busy_retries":     "an integer 0..100",
	"busy_backoff":     allowedDuration,
	"username":         "a string",
	"password":         "a string",
	"rsa_public_key":   "a string (a file path)",
	"interval_metrics": "true or false",
	"fleet":            `a list of agent names, e.g. ["probe-01", "probe-02"]`,
	"mesh":             `a list of "name=host[:port]", e.g. ["probe-01=198.51.100.1", "probe-02=[2001:db8::2]:5201"]`,
	"agent":            "a string (this agent's name in fleet or mesh)",
	"slot_guard":       allowedDuration,
	"alias":            "a string",
	"allowed_targets":  allowedTarget,
	"latency":          "true or false",
}
