package config

import (
	"fmt"
	"net/netip"
	"strings"
)

const allowedTarget = `a list of "host", "host:port" (as in servers) or CIDRs such as "192.0.2.0/24", "2001:db8::/32"; [] allows any target`

// checkAllowedTargets validates allowed_targets: every entry is a servers
// entry or a CIDR.
func (t *Table) checkAllowedTargets() *Error {
	for i, s := range t.AllowedTargets {
		if strings.Contains(s, "/") && !strings.Contains(s, "://") {
			if _, err := netip.ParsePrefix(s); err != nil {
				return bad(fmt.Sprintf("allowed_targets[%d]", i), qs(s), "not a CIDR", allowedTarget)
			}
			continue
		}
		if _, _, err := parseAllowedHost(s); err != nil {
			return bad(fmt.Sprintf("allowed_targets[%d]", i), qs(s), err.Error(), allowedTarget)
		}
	}
	return nil
}

// parseAllowedHost parses an allowed_targets entry that is not a CIDR;
// port is 0 when the entry names none (any port).
func parseAllowedHost(s string) (host string, port int, err error) {
	host, port, err = ParseServer(s)
	if err != nil {
		return "", 0, err
	}
	rest := s
	if i := strings.IndexByte(s, ']'); i >= 0 {
		rest = s[i:]
	}
	if !strings.Contains(rest, ":") {
		port = 0 // ParseServer filled in the default port
	}
	return host, port, nil
}

// AllowsTarget reports whether /probe may test host:port with this table:
// allowed_targets is empty, or an entry names host (and port, if it has
// one), or host is an address inside an entry's CIDR. Names are compared
// as written, case-insensitively; they are not resolved.
func (t *Table) AllowsTarget(host string, port int) bool {
	if len(t.AllowedTargets) == 0 {
		return true
	}
	addr, addrErr := netip.ParseAddr(host)
	want := serverKey(host, 0)
	for _, s := range t.AllowedTargets {
		if p, err := netip.ParsePrefix(s); err == nil {
			if addrErr == nil && p.Contains(addr.Unmap()) {
				return true
			}
			continue
		}
		h, pt, err := parseAllowedHost(s)
		if err != nil {
			continue
		}
		if serverKey(h, 0) == want && (pt == 0 || pt == port) {
			return true
		}
	}
	return false
}
