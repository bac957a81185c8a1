package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/iperfmon/iperfmon/measure"
)

// The baseline file of `check --baseline-file`: the most recent results per
// server, protocol and direction, to alert on regressions without a
// database. It is read and rewritten under a lock (see lock_*.go) and
// replaced atomically (temp file + rename), so concurrent checks and a
// crash mid-write never leave a half-written file.

const (
	baselineVersion  = 1
	baselineMaxBytes = 16 << 20 // a larger file is not ours: treat as corrupt
	baselineLockWait = 30 * time.Second
)

type baselineData struct {
	Version int                         `json:"version"`
	Series  map[string][]baselineSample `json:"series"`
}

type baselineSample struct {
	Time          time.Time `json:"time"`
	BitsPerSecond float64   `json:"bits_per_second"`
}

// baseline is an open, locked baseline file.
type baseline struct {
	path   string
	unlock func()
	data   baselineData
}

// openBaseline locks path (through path.lock) and loads it. A missing file
// is an empty baseline; an unreadable or corrupt one is reported through
// warn and replaced by an empty one on save.
func openBaseline(path string, warn func(string, ...any)) (*baseline, error) {
	unlock, err := lockFile(path+".lock", baselineLockWait)
	if err != nil {
		return nil, fmt.Errorf("lock %s.lock: %w", path, err)
	}
	b := &baseline{path: path, unlock: unlock}
	b.data, err = readBaseline(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		b.data = baselineData{}
	case err != nil:
		warn("baseline file %s is unusable (%v); starting a new baseline", path, err)
		b.data = baselineData{}
	}
	b.data.Version = baselineVersion
	if b.data.Series == nil {
		b.data.Series = map[string][]baselineSample{}
	}
	return b, nil
}

func readBaseline(path string) (baselineData, error) {
	var d baselineData
	f, err := os.Open(path)
	if err != nil {
		return d, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, baselineMaxBytes+1))
	if err != nil {
		return d, err
	}
	if len(raw) > baselineMaxBytes {
		return d, fmt.Errorf("larger than %d bytes", baselineMaxBytes)
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return baselineData{}, fmt.Errorf("not a baseline: %w", err)
	}
	if d.Version != baselineVersion {
		return baselineData{}, fmt.Errorf("version %d; this iperfmon writes version %d", d.Version, baselineVersion)
	}
	// Keep only samples that can take part in a median.
	for k, ss := range d.Series {
		kept := ss[:0]
		for _, s := range ss {
			if s.BitsPerSecond >= 0 && !math.IsInf(s.BitsPerSecond, 0) && !math.IsNaN(s.BitsPerSecond) {
				kept = append(kept, s)
			}
		}
		d.Series[k] = kept
	}
	return d, nil
}

// add records a result for key, keeping the newest keep samples, and
// returns the samples that were there before.
func (b *baseline) add(key string, s baselineSample, keep int) []baselineSample {
	prev := b.data.Series[key]
	next := append(append([]baselineSample(nil), prev...), s)
	if len(next) > keep {
		next = next[len(next)-keep:]
	}
	b.data.Series[key] = next
	return prev
}

// save writes the file atomically: a temp file in the same directory,
// synced, then renamed over the old one.
func (b *baseline) save() error {
	raw, err := json.MarshalIndent(b.data, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(b.path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(b.path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(append(raw, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), b.path)
}

func (b *baseline) close() { b.unlock() }

func median(ss []baselineSample) float64 {
	if len(ss) == 0 {
		return 0
	}
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = s.BitsPerSecond
	}
	sort.Float64s(v)
	if n := len(v); n%2 == 1 {
		return v[n/2]
	} else {
		return (v[n/2-1] + v[n/2]) / 2
	}
}

// baselineKey names a series: the same server, protocol and direction
// (bidir directions apart from one-way ones, since they share the path).
func baselineKey(t measure.Test, dir measure.Direction) string {
	k := hostPortString(t) + "/" + string(t.Protocol) + "/" + string(dir)
	if t.Bidir {
		k += "/bidir"
	}
	return k
}

// applyBaseline judges every direction of res against its baseline and
// records the new results. Baseline trouble never hides the test's own
// verdict: it is logged and the thresholds still apply.
func (ck *checkFlags) applyBaseline(st *status, t measure.Test, res *measure.Result, now time.Time, log *logger) {
	bl, err := openBaseline(ck.baselineFile, log.Warnf)
	if err != nil {
		log.Warnf("baseline: %v; result not compared with the baseline", err)
		return
	}
	defer bl.close()
	multi := len(res.Directions) > 1
	for _, d := range res.Directions {
		bps := d.Sum.ReceiverBitsPerSecond
		prev := bl.add(baselineKey(t, d.Direction), baselineSample{Time: now.UTC(), BitsPerSecond: bps}, ck.baselineKeep)
		if len(prev) < baselineMinSamples {
			continue
		}
		if len(prev) > ck.baselineKeep {
			prev = prev[len(prev)-ck.baselineKeep:]
		}
		med := median(prev)
		prefix := ""
		if multi {
			prefix = string(d.Direction) + "_"
		}
		floor := med * (1 - ck.maxDrop/100)
		st.perfdata = append(st.perfdata, fmt.Sprintf("%sbaseline_bits_per_second=%.0f;%.0f:;;0;", prefix, med, floor))
		if bps < floor {
			st.raise(nagiosWarning, fmt.Sprintf("%s %s is %.0f%% below the baseline %s (median of the last %d runs)",
				d.Direction, rateString(bps), 100*(med-bps)/med, rateString(med), len(prev)))
		}
	}
	if err := bl.save(); err != nil {
		log.Warnf("baseline: save %s: %v", ck.baselineFile, err)
	}
}
