package config

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/influxdata/toml"
	"github.com/influxdata/toml/ast"
)

// Option changes every table after decoding and before validation.
type Option func(*Table)

// WithAgent sets every table's agent, as iperfmon run --agent does.
func WithAgent(name string) Option {
	return func(t *Table) {
		if name != "" {
			t.Agent = name
		}
	}
}

// Load reads a file of [[inputs.iperf3]] tables (what iperfmon once/run
// read) and returns them decoded over DefaultTable, changed by opts and
// validated. Errors are prefixed with the path.
func Load(path string, opts ...Option) ([]Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	tables, err := Parse(data, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return tables, nil
}

// Parse decodes and validates a file of [[inputs.iperf3]] tables. Anything
// else in the file (other tables, top-level keys, unknown keys inside a
// table) is an error naming it and its line.
func Parse(data []byte, opts ...Option) ([]Table, error) {
	root, err := toml.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	var found []*ast.Table
	for _, name := range sortedKeys(root.Fields) {
		field := root.Fields[name]
		inputs, ok := field.(*ast.Table)
		if name != "inputs" || !ok {
			return nil, fmt.Errorf("line %d: unexpected %s; allowed only [[inputs.iperf3]] tables", lineOf(field), describe(name, field))
		}
		for _, sub := range sortedKeys(inputs.Fields) {
			f := inputs.Fields[sub]
			arr, ok := f.([]*ast.Table)
			if sub != "iperf3" || !ok {
				return nil, fmt.Errorf("line %d: unexpected %s; allowed only [[inputs.iperf3]] tables", lineOf(f), describe("inputs."+sub, f))
			}
			found = arr
		}
	}
	if len(found) == 0 {
		return nil, errors.New("no [[inputs.iperf3]] table; add at least one")
	}
	tables := make([]Table, len(found))
	for i, tbl := range found {
		tables[i] = DefaultTable()
		if err := decodeTable(tbl, &tables[i]); err != nil {
			err.Index = i
			return nil, err
		}
		for _, o := range opts {
			o(&tables[i])
		}
		if err := tables[i].Validate(); err != nil {
			var ce *Error
			if errors.As(err, &ce) {
				ce.Index = i
			}
			return nil, err
		}
	}
	return tables, nil
}

// decodeTable decodes one key at a time, so that an error names its key,
// value and line; unknown keys are rejected by line, as Telegraf does.
func decodeTable(tbl *ast.Table, t *Table) *Error {
	known := map[string]bool{}
	for _, k := range keys {
		known[k] = true
	}
	names := sortedKeys(tbl.Fields)
	sort.SliceStable(names, func(i, j int) bool { return lineOf(tbl.Fields[names[i]]) < lineOf(tbl.Fields[names[j]]) })
	for _, name := range names {
		field := tbl.Fields[name]
		if !known[name] {
			reason := "unknown key"
			if telegrafOptions[name] {
				reason += " (a Telegraf per-plugin option: it applies only inside Telegraf)"
			} else if s := suggest(name); s != "" {
				reason += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return &Error{Index: -1, Line: lineOf(field), Key: name, Value: sourceOf(field), Reason: reason,
				Allowed: strings.Join(keys, ", ")}
		}
		one := &ast.Table{Line: tbl.Line, Name: tbl.Name, Type: tbl.Type, Fields: map[string]any{name: field}}
		var into any = t
		var password struct {
			Password string `toml:"password"`
		}
		if name == "password" { // not a toml field of Table: see Table.Password
			into = &password
		}
		if err := toml.UnmarshalTable(one, into); err != nil {
			if le, ok := err.(*toml.LineError); ok {
				err = le.Err // LineError has no Unwrap
			}
			allowed := keyKinds[name]
			var ve *valueError
			if errors.As(err, &ve) {
				allowed = ve.allowed
			}
			return &Error{Index: -1, Line: lineOf(field), Key: name, Value: sourceOf(field), Allowed: allowed}
		}
		if name == "password" {
			t.Password = password.Password
		}
		if t.src == nil {
			t.src = map[string]string{}
		}
		t.src[name] = sourceOf(field)
	}
	return nil
}

// telegrafOptions are the keys Telegraf takes out of every input table
// before the plugin sees it; they mean nothing to iperfmon once/run.
var telegrafOptions = map[string]bool{
	"interval": true, "precision": true, "collection_jitter": true, "collection_offset": true,
	"name_override": true, "name_prefix": true, "name_suffix": true, "tags": true,
	"namepass": true, "namedrop": true, "fieldpass": true, "fielddrop": true, "fieldinclude": true,
	"fieldexclude": true, "tagpass": true, "tagdrop": true, "taginclude": true, "tagexclude": true,
	"log_level": true, "startup_error_behavior": true, "metricpass": true,
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func lineOf(field any) int {
	switch f := field.(type) {
	case *ast.KeyValue:
		return f.Line
	case *ast.Table:
		return f.Line
	case []*ast.Table:
		if len(f) > 0 {
			return f[0].Line
		}
	}
	return 0
}

func sourceOf(field any) string {
	if kv, ok := field.(*ast.KeyValue); ok {
		return kv.Value.Source()
	}
	return "(a table)"
}

func describe(name string, field any) string {
	switch f := field.(type) {
	case *ast.Table:
		// [[outputs.file]] arrives as an implicit table "outputs": name
		// the table the user wrote.
		for _, sub := range sortedKeys(f.Fields) {
			switch f.Fields[sub].(type) {
			case *ast.Table, []*ast.Table:
				if len(f.Fields) == 1 {
					return describe(name+"."+sub, f.Fields[sub])
				}
			}
		}
		return "table [" + name + "]"
	case []*ast.Table:
		return "table [[" + name + "]]"
	}
	return "top-level key " + name
}

// suggest returns the known key closest to name, if it is close enough to
// be a typo.
func suggest(name string) string {
	best, bestDist := "", 3
	for _, k := range keys {
		if d := editDistance(name, k); d < bestDist && 2*d < len(name) {
			best, bestDist = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
