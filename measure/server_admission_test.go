package measure

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The shedding order: at a source's cap that source's oldest goes, at the
// total cap the oldest of all, and a connection that already sent its
// cookie is never shed.
func TestAdmissionShedsOldest(t *testing.T) {
	type step struct {
		op   string // "add FROM" or "done N" (N: index of the add)
		shed int    // index of the add that is shed by this add; -1 none
	}
	add := func(from string, shed int) step { return step{"add " + from, shed} }
	done := func(i int) step { return step{fmt.Sprintf("done %d", i), -1} }
	cases := []struct {
		name            string
		total, perSrc   int
		steps           []step
		pendingAtTheEnd int
	}{
		{"under-the-caps", 4, 2, []step{add("192.0.2.1", -1), add("192.0.2.2", -1), add("192.0.2.1", -1)}, 3},
		{"source-cap-sheds-its-own-oldest", 10, 2, []step{
			add("192.0.2.1", -1), add("192.0.2.9", -1), add("192.0.2.1", -1),
			add("192.0.2.1", 0), // not 1 (another source, older)
			add("192.0.2.1", 2),
			add("192.0.2.1", 3),
		}, 3},
		{"total-cap-sheds-the-oldest-of-all", 3, 3, []step{
			add("192.0.2.1", -1), add("192.0.2.2", -1), add("192.0.2.3", -1),
			add("192.0.2.4", 0),
			add("192.0.2.5", 1),
		}, 3},
		{"finished-connections-leave-the-queue", 2, 2, []step{
			add("192.0.2.1", -1), add("192.0.2.1", -1), done(0),
			add("192.0.2.1", -1), // room again: nothing shed
			add("192.0.2.1", 1),
		}, 2},
		{"flood-from-one-source-spares-the-others", 8, 3, []step{
			add("198.51.100.7", -1),
			add("192.0.2.1", -1), add("192.0.2.1", -1), add("192.0.2.1", -1),
			add("192.0.2.1", 1), add("192.0.2.1", 2), add("192.0.2.1", 3), add("192.0.2.1", 4),
			add("198.51.100.8", -1),
		}, 5},
		{"ipv6-counts-per-64", 10, 2, []step{
			add("2001:db8:1:2::1", -1), add("2001:db8:1:2::ffff", -1),
			add("2001:db8:1:2:aaaa::1", 0), // same /64
			add("2001:db8:1:3::1", -1),     // another /64
		}, 3},
		{"ipv4-mapped-is-ipv4", 10, 1, []step{
			add("::ffff:192.0.2.1", -1), add("192.0.2.1", 0),
		}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newAdmission(tc.total, tc.perSrc)
			a.grace = 0 // every pending connection counts as holding
			var adds []*pendingConn
			for i, st := range tc.steps {
				var from string
				var idx int
				if _, err := fmt.Sscanf(st.op, "add %s", &from); err == nil {
					p, victim := a.add(nil, netip.MustParseAddr(from))
					adds = append(adds, p)
					if st.shed < 0 {
						require.Nil(t, victim, "step %d (%s) shed a connection", i, st.op)
					} else {
						require.Same(t, adds[st.shed], victim, "step %d (%s)", i, st.op)
						require.True(t, victim.shed)
						require.False(t, a.done(victim), "a shed connection's handler must drop it")
					}
					continue
				}
				_, err := fmt.Sscanf(st.op, "done %d", &idx)
				require.NoError(t, err)
				require.True(t, a.done(adds[idx]))
			}
			require.Equal(t, tc.pendingAtTheEnd, a.len())
			n := 0
			for _, l := range a.bySource {
				require.Positive(t, l.Len(), "empty source lists are removed")
				n += l.Len()
			}
			require.Equal(t, a.len(), n, "per-source lists and the total agree")
		})
	}
}

// A long flood keeps the bookkeeping bounded: never more than the caps,
// and nothing left once every connection is done.
func TestAdmissionBounded(t *testing.T) {
	a := newAdmission(maxPendingConns, DefaultMaxPendingPerSource)
	a.grace = 0
	var live []*pendingConn
	for i := range 20_000 {
		from := netip.AddrFrom4([4]byte{10, 0, 0, byte(i % 50)}) // 50 × 16 > 256: both caps bite
		p, _ := a.add(nil, from)
		live = append(live, p)
		if a.len() > maxPendingConns || a.bySource[sourceOf(from)].Len() > DefaultMaxPendingPerSource {
			t.Fatalf("after %d adds: %d pending, %d from %s", i+1, a.len(), a.bySource[sourceOf(from)].Len(), from)
		}
	}
	for _, p := range live {
		a.done(p)
	}
	require.Zero(t, a.len())
	require.Empty(t, a.bySource)
}

// A client opening many streams at once has them all pending for a
// moment: young connections are not shed by the per-source cap, only
// those pending past the grace time.
func TestAdmissionSparesYoungConnections(t *testing.T) {
	a := newAdmission(maxPendingConns, 2)
	from := netip.MustParseAddr("127.0.0.1")
	var ps []*pendingConn
	for range 5 {
		p, victim := a.add(nil, from)
		if victim != nil {
			t.Fatalf("a young connection was shed")
		}
		ps = append(ps, p)
	}
	for _, p := range ps {
		p.since = p.since.Add(-time.Second) // they have held for a second now
	}
	_, victim := a.add(nil, from)
	if victim != ps[0] {
		t.Fatalf("shed %v, want the oldest", victim)
	}
}
