//go:build linux

package fleet

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// point is one iperf3 line of line protocol, as `iperfmon run` prints it.
type point struct {
	name   string
	tags   map[string]string
	fields map[string]string // raw values: 12i, 1.5, "text"
	time   time.Time
}

func (p point) float(k string) float64 {
	v := strings.TrimSuffix(p.fields[k], "i")
	f, _ := strconv.ParseFloat(v, 64)
	return f
}

// end is when the measured part of the test ended: its start, the
// omitted time and the measured time.
func (p point) end(omit time.Duration) time.Time {
	return p.time.Add(omit + time.Duration(p.float("duration_seconds")*float64(time.Second)))
}

// parsePoints parses the lines of out; anything that is not line protocol
// fails the test (stdout carries only metrics).
func parsePoints(t testing.TB, out string) []point {
	t.Helper()
	var ps []point
	for _, line := range strings.Split(out, "\n") {
		if line == "" {
			continue
		}
		p, err := parseLine(line)
		if err != nil {
			t.Fatalf("stdout line %q: %v", line, err)
		}
		ps = append(ps, p)
	}
	return ps
}

// parseLine handles what our serializer writes: no escaped spaces in tags,
// string fields quoted with \" escapes.
func parseLine(line string) (point, error) {
	head, rest, ok := strings.Cut(line, " ")
	if !ok {
		return point{}, fmt.Errorf("no fields")
	}
	parts := strings.Split(head, ",")
	p := point{name: parts[0], tags: map[string]string{}, fields: map[string]string{}}
	for _, kv := range parts[1:] {
		k, v, _ := strings.Cut(kv, "=")
		p.tags[k] = v
	}
	// fields end at the first space outside quotes
	inQuote, end := false, -1
	for i := 0; i < len(rest); i++ {
		switch c := rest[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case c == ' ' && !inQuote:
			end = i
		}
		if end >= 0 {
			break
		}
	}
	if end < 0 {
		return point{}, fmt.Errorf("no timestamp")
	}
	fields, ts := rest[:end], rest[end+1:]
	inQuote, start := false, 0
	for i := 0; i <= len(fields); i++ {
		if i < len(fields) {
			c := fields[i]
			if c == '\\' && inQuote {
				i++
				continue
			}
			if c == '"' {
				inQuote = !inQuote
			}
			if c != ',' || inQuote {
				continue
			}
		}
		k, v, _ := strings.Cut(fields[start:i], "=")
		p.fields[k] = v
		start = i + 1
	}
	ns, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return point{}, fmt.Errorf("timestamp %q: %v", ts, err)
	}
	p.time = time.Unix(0, ns)
	return p, nil
}

func TestParseLine(t *testing.T) {
	p, err := parseLine(`iperf3,agent=probe-01,direction=forward,result=connection_failed,server=192.0.2.201 error="dial tcp: \"x\", y",result_code=1i 1765000000000000000`)
	if err != nil {
		t.Fatal(err)
	}
	if p.tags["agent"] != "probe-01" || p.fields["result_code"] != "1i" || p.fields["error"] != `"dial tcp: \"x\", y"` || p.time.UnixNano() != 1765000000000000000 {
		t.Fatalf("%+v", p)
	}
}
