package main

import (
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/iperfmon/iperfmon/internal/procstat"
	"github.com/stretchr/testify/require"
)

// The testdata files are real /proc/stat readings of a 2-core KVM guest:
// stat-steal-* one second apart while the host stole 40 % of both CPUs,
// stat-quiet-* one idle second with one tick stolen.
func readStat(t *testing.T, name string) map[int]procstat.CPUTimes {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	m, err := procstat.Parse(string(b))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

func TestParseCPUList(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{in: "", want: nil},
		{in: "0", want: []int{0}},
		{in: "1,0", want: []int{0, 1}},
		{in: "0-3,2,6", want: []int{0, 1, 2, 3, 6}},
		{in: " 4 - 5", wantErr: true},
		{in: "3-1", wantErr: true},
		{in: "a", wantErr: true},
		{in: "-1", wantErr: true},
		{in: "0,", wantErr: true},
	}
	for _, tc := range tests {
		got, err := parseCPUList(tc.in)
		if (err != nil) != tc.wantErr || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseCPUList(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestWatchedCPUs(t *testing.T) {
	tests := []struct {
		client, server string
		want           []int
	}{
		{"0", "1", []int{0, 1}},
		{"0", "0", []int{0}},
		{"0", "", nil}, // an unpinned side may run anywhere: watch all
		{"", "", nil},
	}
	for _, tc := range tests {
		got, err := watchedCPUs(tc.client, tc.server)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("watchedCPUs(%q, %q) = %v, %v; want %v", tc.client, tc.server, got, err, tc.want)
		}
	}
	if _, err := watchedCPUs("0", "x"); err == nil || !strings.Contains(err.Error(), "BENCH_SERVER_CPUS") {
		t.Errorf("bad server list: err = %v, want one naming BENCH_SERVER_CPUS", err)
	}
}

func TestMeasureDisturbance(t *testing.T) {
	stealB, stealA := readStat(t, "stat-steal-before.txt"), readStat(t, "stat-steal-after.txt")
	quietB, quietA := readStat(t, "stat-quiet-before.txt"), readStat(t, "stat-quiet-after.txt")
	tests := []struct {
		name          string
		before, after map[int]procstat.CPUTimes
		cpus          []int
		procCPU, wall float64
		steal, other  float64
		wantErr       string
	}{
		// cpu0: 47 of 119 ticks stolen, cpu1: 50 of 119; the larger counts.
		// Busy 37+41 of 238 ticks, 0.3 s of it the processes' (35.7 ticks
		// at 119 ticks per CPU-second).
		{name: "burst, both CPUs", before: stealB, after: stealA, cpus: []int{0, 1}, procCPU: 0.3, wall: 1, steal: 100 * 50.0 / 119, other: 100 * (78 - 35.7) / 238},
		{name: "burst, all CPUs", before: stealB, after: stealA, cpus: nil, procCPU: 0.3, wall: 1, steal: 100 * 50.0 / 119, other: 100 * (78 - 35.7) / 238},
		{name: "burst, client CPU only", before: stealB, after: stealA, cpus: []int{0}, procCPU: 0, wall: 1, steal: 100 * 47.0 / 119, other: 100 * 37.0 / 119},
		// cpu0: 0 of 101 stolen, 1 busy; cpu1: 1 of 101 stolen, none busy.
		{name: "quiet", before: quietB, after: quietA, cpus: []int{0, 1}, procCPU: 0, wall: 1, steal: 100 * 1.0 / 101, other: 100 * 1.0 / 202},
		{name: "quiet, processes' CPU above busy ticks", before: quietB, after: quietA, cpus: []int{1}, procCPU: 0.5, wall: 1, steal: 100 * 1.0 / 101, other: 0},
		{name: "no such CPU", before: quietB, after: quietA, cpus: []int{0, 7}, wantErr: "CPU 7 is not in /proc/stat"},
		{name: "readings swapped", before: quietA, after: quietB, cpus: []int{0}, wantErr: "went backwards"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := measureDisturbance(tc.before, tc.after, tc.cpus, tc.procCPU, tc.wall)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			if math.Abs(d.steal-tc.steal) > 0.01 || math.Abs(d.other-tc.other) > 0.01 {
				t.Fatalf("got steal %.3f%% other %.3f%%, want %.3f%% and %.3f%%", d.steal, d.other, tc.steal, tc.other)
			}
		})
	}
}
