package procstat

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	// A real /proc/stat of a 2-core KVM guest.
	full, err := os.ReadFile("testdata/stat-full.txt")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, text string
		want       map[int]CPUTimes
		wantErr    string
	}{
		{name: "real file", text: string(full), want: map[int]CPUTimes{
			0: {441577, 883, 493967, 1162775, 2617, 0, 199259, 76700},
			1: {479338, 906, 431657, 1216647, 5414, 0, 151677, 77907},
		}},
		{name: "no guest columns", text: "cpu 1 2 3 4 5 6 7 8\ncpu3 1 2 3 4 5 6 7 8\n", want: map[int]CPUTimes{3: {1, 2, 3, 4, 5, 6, 7, 8}}},
		{name: "before steal existed", text: "cpu0 1 2 3 4 5 6 7\n", wantErr: "want at least 8 numbers"},
		{name: "not a number", text: "cpu0 1 2 3 x 5 6 7 8\n", wantErr: `field 4 "x"`},
		{name: "bad cpu name", text: "cpuX 1 2 3 4 5 6 7 8\n", wantErr: `bad CPU name "cpuX"`},
		{name: "summary only", text: "cpu 1 2 3 4 5 6 7 8\nctxt 5\n", wantErr: "no cpuN lines"},
		{name: "empty", text: "", wantErr: "no cpuN lines"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.text)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestMaxSteal(t *testing.T) {
	// Readings 175 s apart on the 2-core guest while a tbf at 500 Mbit/s
	// dropped 30-60 % for iperf3 and iperfmon alike.
	before, err := Parse("cpu0 458581 895 457378 1153607 3935 0 173649 71093 0 0\ncpu1 458581 894 457379 1153608 3936 0 173649 71093 0 0\n")
	if err != nil {
		t.Fatal(err)
	}
	after, err := Parse("cpu0 459056 895 460333 1162603 3961 0 174742 79109 0 0\ncpu1 459056 894 460334 1162603 3962 0 174742 71101 0 0\n")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		before, after map[int]CPUTimes
		want          float64
	}{
		{"one CPU stolen, the other not", before, after, 8016.0 / 21561},
		{"no time passed", after, after, 0},
		{"readings swapped", after, before, 0},
		{"no readings", nil, nil, 0},
	}
	for _, tc := range tests {
		if got := MaxSteal(tc.before, tc.after); got < tc.want-1e-9 || got > tc.want+1e-9 {
			t.Errorf("%s: MaxSteal = %.4f, want %.4f", tc.name, got, tc.want)
		}
	}
}
