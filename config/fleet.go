package config

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/iperfmon/iperfmon/measure"
)

// Fleets and meshes share one config file across many agents. Every agent
// computes the same wall-clock slots from it, so that no server (fleet) and
// no host (mesh) ever has two tests at once, without any message between
// agents:
//
//   - fleet: agents i (index in the sorted fleet list, n agents), servers j
//     (config order, m servers), directions k (config order, d directions).
//     With N = max(n, m), test (i, j, k) takes slot k·N + (i+j) mod N of
//     d·N slots. For one k, agent i's servers get distinct slots (j < N) and
//     server j's agents get distinct slots (i < N): a Latin square.
//   - mesh: the circle method of round-robin tournaments. Hosts are sorted
//     by name, n rounded up to even n' with a "bye"; in round r of n'−1 the
//     host n'−1 meets r and hosts x, y meet when x+y ≡ 2r (mod n'−1). Each
//     round is split into 2·d slots: the lower-indexed host of each pair as
//     client, then the higher, each direction in turn. Every host is in one
//     test at a time, as client or server, never both.
//
// A period (the time between two scheduled runs) is cut into equal slots;
// each slot must hold duration + omit + slot_guard, and the latency
// probe's idle phase when it is on.

// MeshPeer is one entry of mesh: an agent that also runs a server.
type MeshPeer struct {
	Name string
	Host string
	Port int
}

// ParseMeshEntry splits "name=host[:port]".
func ParseMeshEntry(s string) (MeshPeer, error) {
	name, addr, ok := strings.Cut(s, "=")
	if !ok {
		return MeshPeer{}, fmt.Errorf("no '=' between name and address")
	}
	if err := checkAgentName(name); err != nil {
		return MeshPeer{}, err
	}
	host, port, err := ParseServer(addr)
	if err != nil {
		return MeshPeer{}, fmt.Errorf("address %q: %v", addr, err)
	}
	return MeshPeer{Name: name, Host: host, Port: port}, nil
}

func checkAgentName(name string) error {
	if name == "" {
		return fmt.Errorf("empty agent name")
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == '=' || r == '"' || r == 0x7f }) {
		return fmt.Errorf("agent name %q has a space, '=', quote or control character", name)
	}
	return nil
}

// MeshPeers returns the parsed mesh entries sorted by name. Call Validate
// first: entries that do not parse are left out.
func (t *Table) MeshPeers() []MeshPeer {
	out := make([]MeshPeer, 0, len(t.Mesh))
	for _, e := range t.Mesh {
		if p, err := ParseMeshEntry(e); err == nil {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b MeshPeer) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Slotted reports whether the table's tests run in fleet or mesh slots.
func (t *Table) Slotted() bool { return len(t.Fleet) > 0 || len(t.Mesh) > 0 }

// AgentName is this agent's name: the agent key, else the host name.
func (t *Table) AgentName() string {
	if t.Agent != "" {
		return t.Agent
	}
	h, _ := os.Hostname()
	return h
}

// SlotLength is the shortest slot a test of this table fits in: duration,
// omit, the latency probe's idle phase when it is on, and the guard.
func (t *Table) SlotLength() time.Duration {
	return time.Duration(t.Duration) + time.Duration(t.Omit) + t.latencyIdle() + time.Duration(t.SlotGuard)
}

// latencyIdle is what the latency probe adds before the data phase.
func (t *Table) latencyIdle() time.Duration {
	if !t.Latency {
		return 0
	}
	return measure.IdleProbes * measure.ProbeInterval
}

// Slots returns each target's slot (targets as t.Targets returns them) and
// the number of slots in a period; nil, 0 for a table without fleet or
// mesh. Call Validate first.
func (t *Table) Slots(targets []Target) (slots []int, count int) {
	d := len(t.Directions)
	dirIndex := func(dir string) int { return slices.Index(t.Directions, dir) }
	switch {
	case len(t.Fleet) > 0:
		fleet := slices.Sorted(slices.Values(t.Fleet))
		n, m := len(fleet), len(t.Servers)
		N := max(n, m)
		i := slices.Index(fleet, t.AgentName())
		slots = make([]int, len(targets))
		for x, tg := range targets {
			j := slices.Index(t.Servers, tg.Server)
			slots[x] = dirIndex(tg.Direction)*N + (i+j)%N
		}
		return slots, d * N
	case len(t.Mesh) > 0:
		peers := t.MeshPeers()
		names := make([]string, len(peers))
		for i, p := range peers {
			names[i] = p.Name
		}
		rounds := len(names) - 1 + len(names)%2 // n'−1
		self := slices.Index(names, t.AgentName())
		slots = make([]int, len(targets))
		for x, tg := range targets {
			peer := slices.Index(names, tg.Peer)
			role := 0
			if self > peer {
				role = 1
			}
			slots[x] = meshRound(self, peer, rounds)*2*d + role*d + dirIndex(tg.Direction)
		}
		return slots, rounds * 2 * d
	}
	return nil, 0
}

// meshRound is the round in which hosts x and y meet in a circle-method
// tournament of rounds+1 hosts (rounds odd): host `rounds` is the fixed
// one and meets host r in round r; others meet when x+y ≡ 2r.
func meshRound(x, y, rounds int) int {
	switch {
	case y == rounds:
		return x
	case x == rounds:
		return y
	}
	half := (rounds + 1) / 2 // the inverse of 2 modulo an odd number
	return (x + y) * half % rounds
}

// checkFleet covers fleet, mesh, agent and slot_guard.
func (t *Table) checkFleet() *Error {
	if t.SlotGuard < 0 {
		return bad("slot_guard", t.show("slot_guard", qd(t.SlotGuard)), "", "a duration of 0s or more")
	}
	if t.Agent != "" {
		if err := checkAgentName(t.Agent); err != nil {
			return bad("agent", qs(t.Agent), err.Error(), "a name without spaces, '=' or quotes")
		}
	}
	if !t.Slotted() {
		return nil
	}
	key, names := "fleet", t.Fleet
	switch {
	case len(t.Fleet) > 0 && len(t.Mesh) > 0:
		return bad("mesh", t.show("mesh", "[…]"), "fleet and mesh in one table", "either fleet (with servers) or mesh (without servers)")
	case len(t.Mesh) > 0:
		key, names = "mesh", nil
		for i, e := range t.Mesh {
			p, err := ParseMeshEntry(e)
			if err != nil {
				return bad(fmt.Sprintf("mesh[%d]", i), qs(e), err.Error(), `"name=host" or "name=host:port", e.g. "probe-01=198.51.100.1"`)
			}
			names = append(names, p.Name)
		}
		if len(names) < 2 {
			return bad("mesh", t.show("mesh", "[…]"), "a mesh of one agent has no peer to test", "two or more entries")
		}
	default:
		for i, n := range t.Fleet {
			if err := checkAgentName(n); err != nil {
				return bad(fmt.Sprintf("fleet[%d]", i), qs(n), err.Error(), "agent names without spaces, '=' or quotes")
			}
		}
	}
	seen := map[string]int{}
	for i, n := range names {
		if j, dup := seen[n]; dup {
			return bad(fmt.Sprintf("%s[%d]", key, i), qs(n), fmt.Sprintf("the same agent as %s[%d]", key, j), "each agent once")
		}
		seen[n] = i
	}
	agent := t.AgentName()
	if _, ok := seen[agent]; !ok {
		from := "agent"
		if t.Agent == "" {
			from = "the host name, as agent is empty"
		}
		return bad(key, t.show(key, quoteList(names)), fmt.Sprintf("this agent's name %q (from %s) is not in %s", agent, from, key),
			fmt.Sprintf("a list naming every agent that runs this table; or set agent (or iperfmon run --agent) to one of its %d names", len(names)))
	}
	if t.Schedule == "" {
		return bad("schedule", qs(""), key+" slots need a schedule to divide", `a schedule such as "*/10 * * * *" or "@every 10m"`)
	}
	if t.Splay != 0 {
		return bad("splay", t.show("splay", qd(t.Splay)), key+" slots replace splay", `"0s" (or leave it out) when `+key+" is set")
	}
	return t.checkPeriod(key)
}

// checkPeriod refuses a schedule whose period cannot hold every slot.
func (t *Table) checkPeriod(key string) *Error {
	s, err := t.Period()
	if err != nil {
		return nil // checkSchedule reports it
	}
	gap := minGap(s)
	_, count := t.Slots(t.Targets())
	slot := t.SlotLength()
	need := time.Duration(count) * slot
	if gap == 0 || gap >= need {
		return nil
	}
	d := len(t.Directions)
	var why string
	if key == "fleet" {
		n, m := len(t.Fleet), len(t.Servers)
		why = fmt.Sprintf("fleet of %d agents × %d servers × %d directions × %s slots needs ≥ %s (%d slots: servers are tested side by side, so max(%d, %d) × %d)",
			n, m, d, human(slot), human(need), count, n, m, d)
	} else {
		n := len(t.Mesh)
		why = fmt.Sprintf("mesh of %d agents needs %d rounds × 2 roles × %d directions × %s slots ≥ %s", n, count/(2*d), d, human(slot), human(need))
	}
	return bad("schedule", t.show("schedule", qs(t.Schedule)), fmt.Sprintf("%s; the schedule gives %s", why, human(gap)),
		fmt.Sprintf("a period of at least %s, or fewer agents, servers or directions, or a shorter duration or slot_guard (each slot is duration %s + omit %s%s + slot_guard %s)",
			human(need), human(time.Duration(t.Duration)), human(time.Duration(t.Omit)), latencyPart(t.latencyIdle()), human(time.Duration(t.SlotGuard))))
}

func latencyPart(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return " + the latency probe's " + human(d)
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = qs(n)
	}
	if len(q) > 8 {
		q = append(q[:8], fmt.Sprintf("… (%d in all)", len(names)))
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// Period is the schedule whose runs start the table's periods. For fleets
// and meshes, @every D is aligned to multiples of D since the Unix epoch,
// so that every agent computes the same period boundaries; cron specs are
// wall-clock aligned already.
func (t *Table) Period() (cron.Schedule, error) {
	s, err := ParseSchedule(t.Schedule)
	if err != nil {
		return nil, err
	}
	if c, ok := s.(cron.ConstantDelaySchedule); ok && t.Slotted() {
		return EpochEvery(c.Delay), nil
	}
	return s, nil
}

// EpochEvery is "@every D" aligned to multiples of D since the Unix epoch.
type EpochEvery time.Duration

// Next returns the first multiple of D since the epoch after t.
func (e EpochEvery) Next(t time.Time) time.Time {
	d := int64(e)
	if d <= 0 {
		return time.Time{}
	}
	n := t.UnixNano()
	q := n / d
	if n < 0 && n%d != 0 {
		q-- // floor, not truncation
	}
	return time.Unix(0, (q+1)*d).In(t.Location())
}

// PeriodStart returns the latest run of s at or before now (zero when s
// has none within about two years).
func PeriodStart(s cron.Schedule, now time.Time) time.Time {
	step := max(minGap(s), time.Second)
	for step < 800*24*time.Hour {
		t := s.Next(now.Add(-step))
		if !t.IsZero() && !t.After(now) {
			for {
				n := s.Next(t)
				if n.IsZero() || n.After(now) {
					return t
				}
				t = n
			}
		}
		step *= 2
	}
	return time.Time{}
}
