package main

import (
	"sort"
	"strings"
	"sync"

	"github.com/influxdata/telegraf"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/iperfmon/iperfmon/plugins/inputs/iperf3"
)

// resultStore is what /metrics shows of the scheduled tests: the last
// point of each path (server, port, protocol, direction, bidir and any
// other tag but result) and the number of tests per path and result.
// It is the sink of the accumulator the plugins write to.
type resultStore struct {
	mu     sync.Mutex
	last   map[string]telegraf.Metric // path key -> last point
	counts map[string]*testCount      // path + result key -> tests
}

type testCount struct {
	tags map[string]string
	n    float64
}

const promTestsTotal = "iperf3_tests_total"

func newResultStore() *resultStore {
	return &resultStore{last: map[string]telegraf.Metric{}, counts: map[string]*testCount{}}
}

// pathKey identifies a path by its tags without result.
func pathKey(tags map[string]string) string {
	names := make([]string, 0, len(tags))
	for k := range tags {
		if k != "result" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		b.WriteString(k + "\x00" + tags[k] + "\x00")
	}
	return b.String()
}

// add records a point of a scheduled test; interval points are ignored.
func (s *resultStore) add(m telegraf.Metric) error {
	if m.Name() != iperf3.Measurement {
		return nil
	}
	tags := m.Tags()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last[pathKey(tags)] = m
	key := pathKey(tags) + "result\x00" + tags["result"]
	c := s.counts[key]
	if c == nil {
		c = &testCount{tags: tags}
		s.counts[key] = c
	}
	c.n++
	return nil
}

// keepOnly removes every series whose path is not in keep (pathKey of the
// series' tags, as pathTags builds them): a server that left the config
// on reload leaves /metrics.
func (s *resultStore) keepOnly(keep map[string]bool) (removed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, m := range s.last {
		if !keep[pathKey(coreTags(m.Tags()))] {
			delete(s.last, k)
			removed++
		}
	}
	for k, c := range s.counts {
		if !keep[pathKey(coreTags(c.tags))] {
			delete(s.counts, k)
		}
	}
	return removed
}

// coreTags are the tags that identify a configured path.
func coreTags(tags map[string]string) map[string]string {
	out := map[string]string{}
	for _, k := range []string{"server", "port", "protocol", "direction", "bidir"} {
		out[k] = tags[k]
	}
	return out
}

// Gather renders the stored points with the shared renderer, and the
// test counters; it is a prometheus.Gatherer.
func (s *resultStore) Gather() ([]*dto.MetricFamily, error) {
	s.mu.Lock()
	points := make([]telegraf.Metric, 0, len(s.last))
	for _, m := range s.last {
		points = append(points, m)
	}
	counts := make([]testCount, 0, len(s.counts))
	for _, c := range s.counts {
		counts = append(counts, *c)
	}
	s.mu.Unlock()
	fams := promFamilies(points)
	if len(counts) == 0 {
		return fams, nil
	}
	sort.Slice(counts, func(i, j int) bool {
		a, _ := promLabels(counts[i].tags)
		b, _ := promLabels(counts[j].tags)
		return labelString(a) < labelString(b)
	})
	fam := &dto.MetricFamily{Name: proto.String(promTestsTotal), Type: dto.MetricType_COUNTER.Enum(),
		Help: proto.String("Scheduled tests run since the exporter started, by path and result.")}
	for _, c := range counts {
		labels, _ := promLabels(c.tags)
		fam.Metric = append(fam.Metric, &dto.Metric{Label: labels, Counter: &dto.Counter{Value: proto.Float64(c.n)}})
	}
	fams = append(fams, fam)
	sort.Slice(fams, func(i, j int) bool { return fams[i].GetName() < fams[j].GetName() })
	return fams, nil
}

func labelString(ls []*dto.LabelPair) string {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString(l.GetName() + "=" + l.GetValue() + ",")
	}
	return b.String()
}
