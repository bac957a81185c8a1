package config

import (
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iperfmon/iperfmon/measure"
)

// Target is one test of a table: one server in one direction.
type Target struct {
	Server    string // the servers (or mesh) entry as written
	Peer      string // the mesh peer's name; "" outside a mesh
	Host      string // host name or address, without brackets
	Port      int
	Direction string // DirectionForward, DirectionReverse or DirectionBidir
	Test      measure.Test
}

// Key identifies the server for serialisation: tests with equal keys must
// never overlap.
func (t Target) Key() string { return serverKey(t.Host, t.Port) }

// Name is the server tag of the target's points: the mesh peer's name, or
// the host as configured.
func (t Target) Name() string {
	if t.Peer != "" {
		return t.Peer
	}
	return t.Host
}

// Addr is host:port, with brackets around IPv6 addresses.
func (t Target) Addr() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// Targets returns one Target per server and direction, in the order of
// servers then directions, each with a complete measure.Test (defaults
// applied). Call Validate first: entries that do not parse are left out.
// The password is the table's, else $IPERF3_PASSWORD.
func (t *Table) Targets() []Target {
	password := t.Password
	if password == "" && t.Username != "" {
		password = os.Getenv(passwordEnv)
	}
	key := t.rsaKey
	if key == nil && t.RSAPublicKey != "" {
		key, _ = readRSAPublicKey(t.RSAPublicKey) // Validate reported any error
	}
	var out []Target
	for _, e := range t.endpoints() {
		host, port := e.Host, e.Port
		for _, dir := range t.Directions {
			test := measure.Test{
				Host:           host,
				Port:           port,
				Protocol:       measure.Protocol(t.Protocol),
				Reverse:        dir == DirectionReverse,
				Bidir:          dir == DirectionBidir,
				Duration:       time.Duration(t.Duration),
				Omit:           time.Duration(t.Omit),
				Parallel:       t.Parallel,
				Bitrate:        int64(t.Bitrate),
				Length:         int(t.Length),
				Window:         int(t.Window),
				TOS:            t.TOS,
				Family:         measure.Family(t.Family),
				ConnectTimeout: time.Duration(t.ConnectTimeout),
				Timeout:        t.TestTimeout(),
				Username:       t.Username,
				Password:       password,
				RSAPublicKey:   key,
				Latency:        t.Latency,
			}
			out = append(out, Target{Server: e.entry, Peer: e.Name, Host: host, Port: port, Direction: dir, Test: test.WithDefaults()})
		}
	}
	return out
}

type endpoint struct {
	MeshPeer        // Name is "" for a servers entry
	entry    string // as written
}

// endpoints are the servers this agent tests: the servers entries, or in a
// mesh every peer but this agent (sorted by name).
func (t *Table) endpoints() []endpoint {
	var out []endpoint
	if len(t.Mesh) > 0 {
		self := t.AgentName()
		for _, e := range t.Mesh {
			p, err := ParseMeshEntry(e)
			if err == nil && p.Name != self {
				out = append(out, endpoint{p, e})
			}
		}
		slices.SortFunc(out, func(a, b endpoint) int { return strings.Compare(a.Name, b.Name) })
		return out
	}
	for _, s := range t.Servers {
		host, port, err := ParseServer(s)
		if err == nil {
			out = append(out, endpoint{MeshPeer{Host: host, Port: port}, s})
		}
	}
	return out
}
