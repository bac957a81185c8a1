package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// fleetTable is a valid fleet table of n agents and m servers with the
// given directions, seen from agent.
func fleetTable(n, m int, dirs []string, agent string) Table {
	t := DefaultTable()
	for i := range n {
		t.Fleet = append(t.Fleet, fmt.Sprintf("probe-%02d", n-i)) // unsorted on purpose
	}
	for j := range m {
		t.Servers = append(t.Servers, fmt.Sprintf("192.0.2.%d", j+1))
	}
	t.Directions = dirs
	t.Schedule = "@daily"
	t.Agent = agent
	t.Latency = false // slots of duration + guard, as the examples below count
	return t
}

// slotKey names one test at one slot of a period.
type slotUse struct {
	slot int
	who  string
}

func TestFleetSlotsAreExclusive(t *testing.T) {
	dirs := [][]string{{"forward"}, {"forward", "reverse"}, {"forward", "reverse", "bidir"}}
	for _, n := range []int{1, 2, 3, 7, 24} {
		for _, m := range []int{1, 2, 3, 30} {
			for _, d := range dirs {
				t.Run(fmt.Sprintf("n%d_m%d_d%d", n, m, len(d)), func(t *testing.T) {
					servers := map[slotUse]string{} // (slot, server) -> agent
					agents := map[slotUse]string{}  // (slot, agent) -> server
					tests := 0
					count := 0
					for i := range n {
						agent := fmt.Sprintf("probe-%02d", i+1)
						tbl := fleetTable(n, m, d, agent)
						if err := tbl.Validate(); err != nil {
							t.Fatal(err)
						}
						targets := tbl.Targets()
						slots, c := tbl.Slots(targets)
						if count != 0 && c != count {
							t.Fatalf("agents disagree on the slot count: %d and %d", count, c)
						}
						count = c
						if want := len(d) * max(n, m); c != want {
							t.Fatalf("count = %d, want %d", c, want)
						}
						for x, tg := range targets {
							s := slots[x]
							if s < 0 || s >= c {
								t.Fatalf("%s %s %s: slot %d outside 0..%d", agent, tg.Server, tg.Direction, s, c-1)
							}
							if other, dup := servers[slotUse{s, tg.Server}]; dup {
								t.Fatalf("slot %d: server %s tested by %s and %s", s, tg.Server, other, agent)
							}
							servers[slotUse{s, tg.Server}] = agent
							if other, dup := agents[slotUse{s, agent}]; dup {
								t.Fatalf("slot %d: agent %s tests %s and %s", s, agent, other, tg.Server)
							}
							agents[slotUse{s, agent}] = tg.Server
							tests++
						}
					}
					if tests != n*m*len(d) {
						t.Fatalf("%d tests, want %d", tests, n*m*len(d))
					}
				})
			}
		}
	}
}

func meshTable(n int, dirs []string, agent string) Table {
	t := DefaultTable()
	for i := range n {
		t.Mesh = append(t.Mesh, fmt.Sprintf("probe-%02d=198.51.100.%d", n-i, n-i))
	}
	t.Directions = dirs
	t.Schedule = "@daily"
	t.Agent = agent
	t.Latency = false
	return t
}

func TestMeshSlotsPairHostsOnce(t *testing.T) {
	for _, n := range []int{2, 3, 4, 5, 8, 9, 16} {
		for _, d := range [][]string{{"forward"}, {"forward", "reverse"}} {
			t.Run(fmt.Sprintf("n%d_d%d", n, len(d)), func(t *testing.T) {
				busy := map[slotUse]string{} // (slot, host) -> the test it is in
				pairs := map[string]int{}    // "client>server dir" -> times tested
				count := 0
				for i := range n {
					agent := fmt.Sprintf("probe-%02d", i+1)
					tbl := meshTable(n, d, agent)
					if err := tbl.Validate(); err != nil {
						t.Fatal(err)
					}
					targets := tbl.Targets()
					if len(targets) != (n-1)*len(d) {
						t.Fatalf("%s: %d targets, want %d", agent, len(targets), (n-1)*len(d))
					}
					slots, c := tbl.Slots(targets)
					count = c
					if want := (n - 1 + n%2) * 2 * len(d); c != want {
						t.Fatalf("count = %d, want %d", c, want)
					}
					for x, tg := range targets {
						s := slots[x]
						if s < 0 || s >= c {
							t.Fatalf("slot %d outside 0..%d", s, c-1)
						}
						test := agent + ">" + tg.Peer + " " + tg.Direction
						for _, host := range []string{agent, tg.Peer} {
							if other, dup := busy[slotUse{s, host}]; dup {
								t.Fatalf("slot %d: %s is in %q and %q", s, host, other, test)
							}
							busy[slotUse{s, host}] = test
						}
						pairs[test]++
					}
				}
				if len(pairs) != n*(n-1)*len(d) {
					t.Fatalf("%d ordered pairs × directions tested, want %d", len(pairs), n*(n-1)*len(d))
				}
				for p, k := range pairs {
					if k != 1 {
						t.Fatalf("%s tested %d times per period", p, k)
					}
				}
				_ = count
			})
		}
	}
}

func TestMeshTargetsAreThePeers(t *testing.T) {
	tbl := meshTable(3, []string{"forward"}, "probe-02")
	tbl.Mesh[0] = "probe-03=[2001:db8::3]:5202"
	if err := tbl.Validate(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range tbl.Targets() {
		got = append(got, tg.Peer+"@"+tg.Addr())
	}
	if want := "probe-01@198.51.100.1:5201 probe-03@[2001:db8::3]:5202"; strings.Join(got, " ") != want {
		t.Fatalf("targets %v, want %s", got, want)
	}
}

func TestFleetConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Table)
		want []string
	}{
		{"period too short", func(t *Table) {
			*t = fleetTable(24, 2, []string{"forward", "reverse"}, "probe-01")
			t.SlotGuard = Duration(3 * time.Second)
			t.Schedule = "*/5 * * * *"
		}, []string{"schedule = \"*/5 * * * *\"", "fleet of 24 agents × 2 servers × 2 directions × 13s slots needs ≥ 10m24s", "the schedule gives 5m", "at least 10m24s"}},
		{"every too short", func(t *Table) {
			*t = meshTable(8, []string{"forward"}, "probe-01")
			t.Schedule = "@every 1m"
		}, []string{"mesh of 8 agents needs 7 rounds × 2 roles × 1 directions × 12s slots ≥ 2m48s", "gives 1m"}},
		{"agent not in fleet", func(t *Table) { t.Agent = "probe-99" }, []string{`"probe-99"`, "not in fleet", `"probe-01"`}},
		{"splay", func(t *Table) { t.Splay = Duration(time.Second) }, []string{"splay", "slots replace splay"}},
		{"no schedule", func(t *Table) { t.Schedule = "" }, []string{"schedule", "need a schedule"}},
		{"duplicate", func(t *Table) { t.Fleet = append(t.Fleet, "probe-01") }, []string{"fleet[3]", "the same agent as fleet[2]"}},
		{"bad name", func(t *Table) { t.Fleet[0] = "probe 1" }, []string{"fleet[0]", "space"}},
		{"fleet and mesh", func(t *Table) { t.Mesh = []string{"a=192.0.2.1", "b=192.0.2.2"} }, []string{"servers and mesh"}},
		{"mesh and servers", func(t *Table) {
			*t = meshTable(3, []string{"forward"}, "probe-01")
			t.Servers = []string{"192.0.2.9"}
		}, []string{"servers and mesh in one table"}},
		{"mesh entry", func(t *Table) {
			*t = meshTable(3, []string{"forward"}, "probe-01")
			t.Mesh[1] = "probe-02"
		}, []string{"mesh[1]", "no '='", "name=host"}},
		{"mesh of one", func(t *Table) {
			*t = meshTable(1, []string{"forward"}, "probe-01")
		}, []string{"two or more"}},
		{"negative guard", func(t *Table) { t.SlotGuard = -1 }, []string{"slot_guard"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tbl := fleetTable(3, 2, []string{"forward", "reverse"}, "probe-01")
			c.edit(&tbl)
			err := tbl.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestFleetFitsExactly(t *testing.T) {
	tbl := fleetTable(24, 2, []string{"forward", "reverse"}, "probe-07")
	tbl.SlotGuard = Duration(3 * time.Second)
	tbl.Schedule = "@every 10m24s"
	if err := tbl.Validate(); err != nil {
		t.Fatalf("a period of exactly 48 slots × 13s: %v", err)
	}
}

func TestEpochEvery(t *testing.T) {
	e := EpochEvery(10 * time.Minute)
	at := time.Date(2026, 12, 6, 7, 43, 12, 5, time.UTC)
	if got, want := e.Next(at), time.Date(2026, 12, 6, 7, 50, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("Next = %v, want %v", got, want)
	}
	if got := e.Next(time.Date(2026, 12, 6, 7, 50, 0, 0, time.UTC)); !got.Equal(time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("Next of a boundary = %v, want the following one", got)
	}
	// 7m is not a divisor of an hour: boundaries are multiples since the epoch.
	if got := EpochEvery(7 * time.Minute).Next(at); got.Unix()%420 != 0 || !got.After(at) || got.Sub(at) > 7*time.Minute {
		t.Fatalf("Next = %v", got)
	}
}

func TestPeriodStart(t *testing.T) {
	at := time.Date(2026, 12, 6, 7, 43, 12, 0, time.UTC)
	cases := []struct {
		spec string
		want time.Time
	}{
		{"*/10 * * * *", time.Date(2026, 12, 6, 7, 40, 0, 0, time.UTC)},
		{"CRON_TZ=UTC 0 9,17 * * *", time.Date(2026, 12, 5, 17, 0, 0, 0, time.UTC)},
		{"@every 1h", time.Date(2026, 12, 6, 7, 0, 0, 0, time.UTC)},
		{"CRON_TZ=UTC 43 7 * * *", time.Date(2026, 12, 6, 7, 43, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		tbl := fleetTable(2, 1, []string{"forward"}, "probe-01")
		tbl.Schedule = c.spec
		s, err := tbl.Period()
		if err != nil {
			t.Fatal(err)
		}
		if got := PeriodStart(s, at); !got.Equal(c.want) {
			t.Errorf("%s: PeriodStart = %v, want %v", c.spec, got, c.want)
		}
	}
}

// The latency probe's idle phase is part of every slot.
func TestSlotLengthCountsTheLatencyProbe(t *testing.T) {
	tbl := fleetTable(2, 1, []string{"forward"}, "probe-01")
	tbl.SlotGuard = Duration(time.Second)
	if got := tbl.SlotLength(); got != 11*time.Second {
		t.Fatalf("without latency: %s, want 11s", got)
	}
	tbl.Latency = true
	if got := tbl.SlotLength(); got != 11500*time.Millisecond {
		t.Fatalf("with latency: %s, want 11.5s", got)
	}
	tbl.Schedule = "@every 22s"
	err := tbl.Validate()
	if err == nil || !strings.Contains(err.Error(), "the latency probe's 500ms") {
		t.Fatalf("want an error that counts the probe, got %v", err)
	}
}
