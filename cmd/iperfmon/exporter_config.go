package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/iperfmon/iperfmon/config"
	"github.com/iperfmon/iperfmon/plugins/inputs/iperf3"
)

// builtinProbe is the /probe module without a module parameter: the
// table's defaults, but one direction and 5 s, as iperf3_exporter runs,
// so that a probe fits a default 10 s scrape timeout.
const builtinProbeDuration = 5 * time.Second

// generation is one loaded config: the tables with a schedule run on it,
// the tables with an alias are /probe modules.
type generation struct {
	scheduled []*iperf3.Iperf3
	modules   map[string]*iperf3.Iperf3 // by alias
	builtin   *iperf3.Iperf3
	// restricted are the tables with allowed_targets: a probe without a
	// module must be allowed by one of them when there is any.
	restricted []config.Table
	paths      map[string]bool // pathKey of every scheduled path
}

// loadGeneration reads and checks path and initialises a plugin per table;
// nothing starts.
func loadGeneration(path string, log *logger) (*generation, error) {
	tables, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	g := &generation{modules: map[string]*iperf3.Iperf3{}, paths: map[string]bool{}}
	aliasOf := map[string]int{}
	for i, p := range iperf3.New(tables...) {
		p.Log = log
		if err := p.Init(); err != nil {
			return nil, fmt.Errorf("%s: table %d: %w", path, i+1, err)
		}
		if p.Alias != "" {
			if j, dup := aliasOf[p.Alias]; dup {
				return nil, fmt.Errorf("%s: table %d: alias = %q: the same as table %d's; allowed a module name used once", path, i+1, p.Alias, j+1)
			}
			aliasOf[p.Alias] = i
			g.modules[p.Alias] = p
		}
		if len(p.AllowedTargets) > 0 {
			g.restricted = append(g.restricted, p.Table)
		}
		switch {
		case p.Schedule != "":
			g.scheduled = append(g.scheduled, p)
			for _, t := range p.Targets() {
				for _, tags := range targetPaths(t) {
					g.paths[pathKey(tags)] = true
				}
			}
		case p.Alias == "":
			log.Warnf("%s: table %d (servers %v) has neither a schedule nor an alias: the exporter does not use it", path, i+1, p.Servers)
		}
	}
	b := config.DefaultTable()
	b.Servers = []string{"localhost"} // a placeholder: each probe names its target
	b.Directions = []string{config.DirectionForward}
	b.Duration = config.Duration(builtinProbeDuration)
	g.builtin = iperf3.New(b)[0]
	g.builtin.Log = log
	if err := g.builtin.Init(); err != nil {
		return nil, fmt.Errorf("built-in probe module: %w", err)
	}
	return g, nil
}

// targetPaths are the core tags of the series a target's tests write.
func targetPaths(t config.Target) []map[string]string {
	base := func(dir string, bidir bool) map[string]string {
		return map[string]string{"server": t.Host, "port": strconv.Itoa(t.Port), "protocol": string(t.Test.Protocol),
			"direction": dir, "bidir": strconv.FormatBool(bidir)}
	}
	switch t.Direction {
	case config.DirectionBidir:
		return []map[string]string{base("forward", true), base("reverse", true)}
	case config.DirectionReverse:
		return []map[string]string{base("reverse", false)}
	}
	return []map[string]string{base("forward", false)}
}

// module returns the probe module named name ("" for the built-in one).
func (g *generation) module(name string) (*iperf3.Iperf3, error) {
	if name == "" {
		return g.builtin, nil
	}
	if p, ok := g.modules[name]; ok {
		return p, nil
	}
	names := make([]string, 0, len(g.modules))
	for n := range g.modules {
		names = append(names, strconv.Quote(n))
	}
	sort.Strings(names)
	allowed := "none configured: give a table an alias to make it a module"
	if len(names) > 0 {
		allowed = strings.Join(names, ", ") + ", or no module for the built-in defaults"
	}
	return nil, fmt.Errorf("unknown module %q; allowed %s", name, allowed)
}

// allows reports whether the module may probe host:port.
func (g *generation) allows(mod *iperf3.Iperf3, host string, port int) bool {
	if mod != g.builtin {
		return mod.AllowsTarget(host, port)
	}
	if len(g.restricted) == 0 {
		return true
	}
	for _, t := range g.restricted {
		if t.AllowsTarget(host, port) {
			return true
		}
	}
	return false
}

func (g *generation) skipped() int64 {
	var n int64
	for _, p := range g.scheduled {
		n += p.Skipped()
	}
	return n
}
