package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/iperfmon/iperfmon/measure"
)

const allowedServer = `"host" or "host:port" (port 1..65535, default 5201), IPv6 in brackets: "[2001:db8::1]" or "[2001:db8::1]:5201"`

// ParseServer splits a servers entry into host and port. It accepts a host
// name, an IPv4 address or a bracketed IPv6 address, each with an optional
// ":port"; the port defaults to 5201. The returned host has no brackets.
func ParseServer(s string) (host string, port int, err error) {
	if s == "" {
		return "", 0, fmt.Errorf("empty")
	}
	if strings.Contains(s, "://") {
		return "", 0, fmt.Errorf("a URL, not a host")
	}
	if strings.TrimSpace(s) != s || strings.ContainsAny(s, " \t/@?#") {
		return "", 0, fmt.Errorf("not a host name or address")
	}
	port = measure.DefaultPort
	rest := ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, fmt.Errorf("missing \"]\"")
		}
		host, rest = s[1:end], s[end+1:]
		a, perr := netip.ParseAddr(host)
		if perr != nil || !a.Is6() {
			return "", 0, fmt.Errorf("%q in brackets is not an IPv6 address", host)
		}
		if rest != "" && !strings.HasPrefix(rest, ":") {
			return "", 0, fmt.Errorf("unexpected %q after \"]\"", rest)
		}
	case strings.Count(s, ":") > 1:
		return "", 0, fmt.Errorf("IPv6 addresses need brackets")
	default:
		host = s
		if i := strings.IndexByte(s, ':'); i >= 0 {
			host, rest = s[:i], s[i:]
		}
		if !validHost(host) {
			return "", 0, fmt.Errorf("%q is not a host name or address", host)
		}
	}
	if rest != "" {
		p, perr := strconv.Atoi(rest[1:])
		if perr != nil || rest[1] == '+' || rest[1] == '-' || p < 1 || p > 65535 {
			return "", 0, fmt.Errorf("port %q out of range 1..65535", rest[1:])
		}
		port = p
	}
	return host, port, nil
}

// validHost accepts an IPv4 address or a DNS name (letters, digits, '-',
// '_', dot-separated labels of at most 63 characters, optional final dot).
func validHost(h string) bool {
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Is4()
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	// An all-numeric dotted name would be a malformed IPv4 address.
	return strings.Trim(h, "0123456789.") != ""
}

// serverKey is the identity of a server for de-duplication and locking.
func serverKey(host string, port int) string {
	return net.JoinHostPort(strings.ToLower(strings.TrimSuffix(host, ".")), strconv.Itoa(port))
}
