package config

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/iperfmon/iperfmon/measure"
)

// Limits, as stock iperf3 enforces them (src/iperf.h) where it has one.
const (
	MaxDuration     = 24 * time.Hour   // MAX_TIME
	MaxOmit         = 10 * time.Minute // MAX_OMIT_TIME
	MaxTCPLength    = 1 << 20          // MAX_BLOCKSIZE
	MinUDPLength    = 16               // MIN_UDP_BLOCKSIZE
	MaxUDPLength    = 65507            // MAX_UDP_BLOCKSIZE
	MaxWindow       = 512 << 20        // MAX_TCP_BUFFER
	MaxBusyRetries  = 100
	MaxBlocksPerSec = 10_000_000 // per stream: beyond what any sender can pace
)

// Validate checks every key of t and returns the first problem as an
// *Error naming the key, the bad value and what is allowed. It never dials;
// it reads the rsa_public_key file, so that a missing key fails at start-up.
func (t *Table) Validate() error {
	for _, check := range []func() *Error{
		t.checkServers, t.checkSchedule, t.checkProtocol, t.checkDirections,
		t.checkTimes, t.checkStreams, t.checkFamily, t.checkBusy, t.checkAuth, t.checkFleet, t.checkAllowedTargets,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (t *Table) checkServers() *Error {
	if len(t.Mesh) > 0 {
		if len(t.Servers) > 0 {
			return bad("servers", t.show("servers", "[…]"), "servers and mesh in one table", "servers = [] (or leave it out) when mesh is set: a mesh tests its own entries")
		}
		return nil
	}
	if len(t.Servers) == 0 && t.Alias == "" {
		// A table with an alias may be only a module of iperfmon exporter's /probe.
		return bad("servers", "[]", "", "one or more "+allowedServer)
	}
	seen := map[string]int{}
	for i, s := range t.Servers {
		key := fmt.Sprintf("servers[%d]", i)
		host, port, err := ParseServer(s)
		if err != nil {
			return bad(key, qs(s), err.Error(), allowedServer)
		}
		k := serverKey(host, port)
		if j, dup := seen[k]; dup {
			return bad(key, qs(s), fmt.Sprintf("the same server as servers[%d]", j), "each server once per table")
		}
		seen[k] = i
	}
	return nil
}

func (t *Table) checkSchedule() *Error {
	if t.Schedule == "" {
		if t.Splay < 0 {
			return bad("splay", t.show("splay", qd(t.Splay)), "", "a duration of 0s or more")
		}
		return nil
	}
	s, err := ParseSchedule(t.Schedule)
	if err != nil {
		return bad("schedule", t.show("schedule", qs(t.Schedule)), err.Error(), allowedSchedule)
	}
	if t.Splay < 0 {
		return bad("splay", t.show("splay", qd(t.Splay)), "", "a duration of 0s or more")
	}
	if gap := minGap(s); gap > 0 && time.Duration(t.Splay) >= gap {
		return bad("splay", t.show("splay", qd(t.Splay)), fmt.Sprintf("not shorter than the %s between scheduled runs", human(gap)),
			fmt.Sprintf("less than %s", human(gap)))
	}
	return nil
}

func (t *Table) checkProtocol() *Error {
	if t.Protocol != string(measure.TCP) && t.Protocol != string(measure.UDP) {
		return bad("protocol", t.show("protocol", qs(t.Protocol)), "", `"tcp" or "udp"`)
	}
	return nil
}

func (t *Table) checkDirections() *Error {
	const allowed = `"forward", "reverse" or "bidir"`
	if len(t.Directions) == 0 {
		return bad("directions", "[]", "", "one or more of "+allowed)
	}
	seen := map[string]int{}
	for i, d := range t.Directions {
		key := fmt.Sprintf("directions[%d]", i)
		switch d {
		case DirectionForward, DirectionReverse, DirectionBidir:
		default:
			return bad(key, qs(d), "", allowed)
		}
		if j, dup := seen[d]; dup {
			return bad(key, qs(d), fmt.Sprintf("the same as directions[%d]", j), "each direction once")
		}
		seen[d] = i
	}
	return nil
}

// checkTimes covers duration, omit, connect_timeout and timeout.
func (t *Table) checkTimes() *Error {
	d, omit := time.Duration(t.Duration), time.Duration(t.Omit)
	// iperf3 carries time and omit as whole seconds.
	if d < time.Second || d > MaxDuration || d%time.Second != 0 {
		return bad("duration", t.show("duration", qd(t.Duration)), "", "whole seconds from 1s to "+human(MaxDuration))
	}
	if omit < 0 || omit > MaxOmit || omit%time.Second != 0 {
		return bad("omit", t.show("omit", qd(t.Omit)), "", "whole seconds from 0s to "+human(MaxOmit))
	}
	if t.Timeout < 0 {
		return bad("timeout", t.show("timeout", qd(t.Timeout)), "", `"" (duration + omit + 15s) or a positive duration`)
	}
	if t.Timeout > 0 && time.Duration(t.Timeout) <= d+omit {
		return bad("timeout", t.show("timeout", qd(t.Timeout)), fmt.Sprintf("not longer than duration + omit (%s)", human(d+omit)),
			fmt.Sprintf(`"" (duration + omit + 15s) or more than %s`, human(d+omit)))
	}
	timeout := t.TestTimeout()
	if t.ConnectTimeout <= 0 {
		return bad("connect_timeout", t.show("connect_timeout", qd(t.ConnectTimeout)), "", "a duration of more than 0s")
	}
	if time.Duration(t.ConnectTimeout) > timeout {
		return bad("connect_timeout", t.show("connect_timeout", qd(t.ConnectTimeout)), fmt.Sprintf("longer than the whole test's timeout (%s)", human(timeout)),
			fmt.Sprintf("up to %s", human(timeout)))
	}
	return nil
}

// checkStreams covers parallel, length, bitrate, window and tos.
func (t *Table) checkStreams() *Error {
	if t.Parallel < 1 || t.Parallel > measure.MaxParallel {
		return bad("parallel", t.show("parallel", qi(t.Parallel)), "", fmt.Sprintf("1..%d", measure.MaxParallel))
	}
	udp := t.Protocol == string(measure.UDP)
	length := int64(t.Length)
	switch {
	case length < 0:
		return bad("length", t.show("length", qsize(t.Length)), "", allowedSize)
	case udp && length != 0 && (length < MinUDPLength || length > MaxUDPLength):
		return bad("length", t.show("length", qsize(t.Length)), "", fmt.Sprintf(`%d to %d bytes for udp, or "" (1460)`, MinUDPLength, MaxUDPLength))
	case !udp && length > MaxTCPLength:
		return bad("length", t.show("length", qsize(t.Length)), "", fmt.Sprintf(`1 to %d bytes ("1M") for tcp, or "" (128K)`, MaxTCPLength))
	}
	if length == 0 {
		length = measure.DefaultTCPLength
		if udp {
			length = measure.DefaultUDPLength
		}
	}
	if err := t.checkBitrate(udp, length); err != nil {
		return err
	}
	if t.Window < 0 || t.Window > MaxWindow {
		return bad("window", t.show("window", qsize(t.Window)), "", `0 to 536870912 bytes ("512M"), or "" (autotuning)`)
	}
	if t.TOS < 0 || t.TOS > 255 {
		return bad("tos", t.show("tos", qi(t.TOS)), "", "0..255")
	}
	return nil
}

// checkBitrate rejects rates the sender cannot pace with the block size:
// more than MaxBlocksPerSec blocks per stream, or less than one block per
// stream over the whole test.
func (t *Table) checkBitrate(udp bool, length int64) *Error {
	rate := int64(t.Bitrate)
	if rate == 0 && udp {
		rate = measure.DefaultUDPBitrate
	}
	if rate < measure.BitrateUnlimited {
		return bad("bitrate", t.show("bitrate", qrate(t.Bitrate)), "", allowedRate)
	}
	if rate <= 0 {
		return nil // unlimited
	}
	perStream := float64(rate) / float64(t.Parallel)
	blocks := perStream / float64(8*length)
	if blocks > MaxBlocksPerSec {
		return bad("bitrate", t.show("bitrate", qrate(t.Bitrate)),
			fmt.Sprintf("%.0f blocks/s per stream with length %d; a sender paces at most %d", blocks, length, MaxBlocksPerSec),
			"a lower bitrate, a larger length or more parallel streams")
	}
	if secs := time.Duration(t.Duration).Seconds(); blocks*secs < 1 {
		least := int64(math.Ceil(float64(8*length*int64(t.Parallel)) / secs))
		value := t.show("bitrate", qrate(t.Bitrate))
		if t.Bitrate == 0 {
			value = qs("")
		}
		return bad("bitrate", value,
			fmt.Sprintf("too low to send one %d-byte block per stream in %s", length, human(time.Duration(t.Duration))),
			fmt.Sprintf("at least %d bits/s, or a smaller length", least))
	}
	return nil
}

func (t *Table) checkFamily() *Error {
	switch t.Family {
	case string(measure.FamilyAuto), string(measure.FamilyIPv4), string(measure.FamilyIPv6):
	default:
		return bad("family", t.show("family", qs(t.Family)), "", `"auto", "ipv4" or "ipv6"`)
	}
	for i, s := range t.Servers {
		v6 := strings.HasPrefix(s, "[")
		host, _, _ := ParseServer(s)
		v4 := !v6 && validHost(host) && strings.Trim(host, "0123456789.") == ""
		if t.Family == "ipv4" && v6 || t.Family == "ipv6" && v4 {
			return bad("family", t.show("family", qs(t.Family)), fmt.Sprintf("servers[%d] = %q is an address of the other family", i, s),
				`"auto" or the family of every address in servers`)
		}
	}
	return nil
}

func (t *Table) checkBusy() *Error {
	if t.BusyRetries < 0 || t.BusyRetries > MaxBusyRetries {
		return bad("busy_retries", t.show("busy_retries", qi(t.BusyRetries)), "", fmt.Sprintf("0..%d", MaxBusyRetries))
	}
	if t.BusyRetries == 0 {
		return nil
	}
	if t.BusyBackoff <= 0 {
		return bad("busy_backoff", t.show("busy_backoff", qd(t.BusyBackoff)), "", "a duration of more than 0s when busy_retries > 0")
	}
	if timeout := t.TestTimeout(); time.Duration(t.BusyBackoff) >= timeout {
		return bad("busy_backoff", t.show("busy_backoff", qd(t.BusyBackoff)), fmt.Sprintf("not shorter than the test's timeout (%s), so no retry could run", human(timeout)),
			fmt.Sprintf("less than %s, or busy_retries = 0", human(timeout)))
	}
	return nil
}

// passwordEnv is where the password comes from when the table has none, as
// for iperf3 itself.
const passwordEnv = "IPERF3_PASSWORD"

func (t *Table) checkAuth() *Error {
	const redacted = `"<redacted>"`
	switch {
	case t.Username == "" && t.RSAPublicKey != "":
		return bad("username", qs(""), "", "a user name when rsa_public_key is set")
	case t.Username != "" && t.RSAPublicKey == "":
		return bad("rsa_public_key", qs(""), "", "the path of the server's RSA public key (PEM) when username is set")
	case t.Username == "" && t.Password != "":
		return bad("password", redacted, "", "a password only together with username and rsa_public_key")
	case t.Username == "":
		return nil
	case t.Password == "" && os.Getenv(passwordEnv) == "":
		return bad("password", qs(""), "", "a password here or in the "+passwordEnv+" environment variable when username is set")
	}
	key, err := readRSAPublicKey(t.RSAPublicKey)
	if err != nil {
		return bad("rsa_public_key", qs(t.RSAPublicKey), err.Error(), "a readable PEM file holding the server's RSA public key")
	}
	t.rsaKey = key
	return nil
}

// readRSAPublicKey reads a PEM file and checks that it holds an RSA public
// key (PKIX "PUBLIC KEY" or PKCS#1 "RSA PUBLIC KEY").
func readRSAPublicKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("no PEM block in %s", path)
	}
	var pub any
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block is %q, not a public key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if _, ok := pub.(*rsa.PublicKey); !ok {
		return nil, fmt.Errorf("%s holds a %T, not an RSA public key", path, pub)
	}
	return data, nil
}

// show returns key's value as the user wrote it, else rendered.
func (t *Table) show(key, rendered string) string {
	if s, ok := t.src[key]; ok {
		return s
	}
	return rendered
}
