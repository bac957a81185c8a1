//go:build linux

package accuracy

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// row is one line of the report: a case and its figures, as text.
type row struct {
	name     string
	shaped   string // the truth: shaped rate → expected goodput, or injected loss
	ours     string // iperfmon's figure
	ref      string // stock iperf3's figure
	errPct   string // iperfmon's error against the truth
	status   string // pass, FAIL, skip
	attempts int
}

type reportT struct {
	mu   sync.Mutex
	rows []*row
}

var report reportT

// newRow adds a row for the running test; its status is set when the test
// ends, from the test's own outcome.
func newRow(t *testing.T, name, shaped string) *row {
	r := &row{name: name, shaped: shaped, ours: "n/a", ref: "n/a", errPct: "n/a"}
	report.mu.Lock()
	report.rows = append(report.rows, r)
	report.mu.Unlock()
	t.Cleanup(func() {
		report.mu.Lock()
		defer report.mu.Unlock()
		switch {
		case t.Skipped():
			r.status = "skip"
		case t.Failed():
			r.status = "FAIL"
		default:
			r.status = "pass"
		}
	})
	return r
}

func (r *reportT) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.rows)
}

// table renders the rows as a Markdown table and counts the outcomes.
func (r *reportT) table() (text string, passed, failed, skipped int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	b.WriteString("| case | shaped | iperfmon | iperf3 | error % |\n|---|---|---|---|---|\n")
	for _, x := range r.rows {
		name := x.name
		switch x.status {
		case "pass":
			passed++
		case "skip":
			skipped++
			name += " (skipped)"
		default:
			failed++
			name = "**FAIL** " + name
		}
		if x.attempts > 1 {
			name += fmt.Sprintf(" (attempt %d)", x.attempts)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", name, x.shaped, x.ours, x.ref, x.errPct)
	}
	return b.String(), passed, failed, skipped
}

// print writes the report to w: the table, then "N passed, M failed" alone
// on its line.
func (r *reportT) print(w io.Writer, took time.Duration) {
	text, passed, failed, skipped := r.table()
	fmt.Fprintf(w, "\naccuracy report (%s, took %s)\n", hostLine(), took.Round(time.Second))
	fmt.Fprint(w, text)
	if skipped > 0 {
		fmt.Fprintf(w, "%d skipped\n", skipped)
	}
	fmt.Fprintf(w, "%d passed, %d failed\n", passed, failed)
}

// hostLine describes the machine, since the figures depend on it.
func hostLine() string {
	var uname string
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		uname = "Linux " + strings.TrimSpace(string(b))
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			load = ", load " + f[0]
		}
	}
	return fmt.Sprintf("%s, %d cores%s", uname, runtime.NumCPU(), load)
}

const (
	docBegin = "<!-- BEGIN accuracy table: written by go test ./test/accuracy/ -update -->"
	docEnd   = "<!-- END accuracy table -->"
)

// writeDoc replaces the table between the markers in docs/accuracy.md.
func (r *reportT) writeDoc(path string) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	i, j := bytes.Index(old, []byte(docBegin)), bytes.Index(old, []byte(docEnd))
	if i < 0 || j < i {
		return fmt.Errorf("%s: markers %q and %q not found", path, docBegin, docEnd)
	}
	text, passed, failed, skipped := r.table()
	var b bytes.Buffer
	b.Write(old[:i+len(docBegin)])
	fmt.Fprintf(&b, "\n\nMeasured %s on %s.\n\n", time.Now().UTC().Format("2006-01-02"), hostLine())
	b.WriteString(text)
	fmt.Fprintf(&b, "\n%d passed, %d failed", passed, failed)
	if skipped > 0 {
		fmt.Fprintf(&b, ", %d skipped", skipped)
	}
	b.WriteString("\n\n")
	b.Write(old[j:])
	return os.WriteFile(path, b.Bytes(), 0o644)
}
