package measure

import (
	"container/list"
	"net"
	"net/netip"
	"time"
)

// Fair admission: a connection is "pending" from accept until its cookie
// has been read. Pending connections cost a goroutine and a descriptor
// each and prove nothing about the peer, so they are capped in total and
// per source. When a cap is reached the OLDEST pending connection (of that
// source, or of all) is shed, never the new one: a real client sends its
// cookie right after connecting, so it is always among the newest, and a
// flood of connections that hold a partial cookie only ever evicts its own
// members. Refusing the new connection instead (as iperf3 and earlier
// versions did) locks every real client out while a flood lasts.

const (
	// maxPendingConns bounds connections without a cookie, all sources.
	maxPendingConns = 256
	// DefaultMaxPendingPerSource bounds connections without a cookie from
	// one source (an IPv4 address or an IPv6 /64). Clients open their
	// streams one after another, each sending its cookie at once, so a
	// real client has one or two pending at a time.
	DefaultMaxPendingPerSource = 16
	// DefaultCookieTimeout is how long a new connection may take to send
	// its 37-byte cookie (never longer than the idle timeout). Clients send
	// it with their first segment; 3 s leaves room for two retransmissions.
	DefaultCookieTimeout = 3 * time.Second
	// pendingGrace protects a young connection from the per-source cap: a
	// client that opens many streams at once (-P 128) has them all pending
	// for a moment, each about to send its cookie. Holders that keep a
	// partial cookie are older than this and are shed first.
	pendingGrace = 500 * time.Millisecond
)

// pendingConn is one connection waiting for its cookie.
type pendingConn struct {
	conn   net.Conn
	source netip.Prefix
	all    *list.Element // in admission.order
	mine   *list.Element // in its source's list
	shed   bool          // evicted by a newer connection; the evictor closed conn
	since  time.Time     // accepted at
}

// admission is the set of pending connections, oldest first, overall and
// per source. It is not safe for concurrent use: Server.mu guards it.
type admission struct {
	maxTotal, maxPerSource int
	grace                  time.Duration // see pendingGrace
	order                  list.List     // of *pendingConn, oldest first
	bySource               map[netip.Prefix]*list.List
}

func newAdmission(maxTotal, maxPerSource int) *admission {
	return &admission{maxTotal: maxTotal, maxPerSource: maxPerSource, grace: pendingGrace, bySource: make(map[netip.Prefix]*list.List)}
}

// sourceOf groups addresses the way one peer usually holds them: an IPv4
// address, or an IPv6 /64 (a single host often owns a whole /64).
func sourceOf(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	bits := a.BitLen()
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// add registers conn and returns the connection it displaces, if any: the
// oldest of conn's source when that source is at its cap and that oldest
// has been pending for the grace time, else the oldest of all when the
// total is at its cap. The victim is marked shed and removed; the caller
// closes it.
func (a *admission) add(conn net.Conn, from netip.Addr) (p, victim *pendingConn) {
	now := time.Now()
	src := sourceOf(from)
	mine := a.bySource[src]
	switch {
	case mine != nil && mine.Len() >= a.maxPerSource && now.Sub(mine.Front().Value.(*pendingConn).since) >= a.grace:
		victim = mine.Front().Value.(*pendingConn)
	case a.order.Len() >= a.maxTotal:
		victim = a.order.Front().Value.(*pendingConn)
	}
	if victim != nil {
		a.remove(victim)
		victim.shed = true
	}
	if mine = a.bySource[src]; mine == nil {
		mine = list.New()
		a.bySource[src] = mine
	}
	p = &pendingConn{conn: conn, source: src, since: now}
	p.all = a.order.PushBack(p)
	p.mine = mine.PushBack(p)
	return p, victim
}

// done takes p out of the set once its cookie was read or reading failed.
// It reports false when p was shed meanwhile: then its connection is
// already closed and must be dropped.
func (a *admission) done(p *pendingConn) bool {
	if p.shed {
		return false
	}
	a.remove(p)
	return true
}

func (a *admission) remove(p *pendingConn) {
	a.order.Remove(p.all)
	mine := a.bySource[p.source]
	mine.Remove(p.mine)
	if mine.Len() == 0 {
		delete(a.bySource, p.source) // the map holds only sources with pending connections
	}
}

// len is the number of pending connections.
func (a *admission) len() int { return a.order.Len() }
