package measure_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/servertest"
	"github.com/iperfmon/iperfmon/measure"
	"github.com/stretchr/testify/require"
)

// liveLog records the live reports of one end in arrival order.
type liveLog struct {
	mu        sync.Mutex
	start     *measure.Result
	intervals []*measure.Result
	afterEnd  bool // a report came after the end was recorded
	ended     bool
}

func (l *liveLog) onStart(r *measure.Result) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.afterEnd = l.afterEnd || l.ended || l.start != nil || len(l.intervals) > 0
	l.start = r
}

func (l *liveLog) onInterval(r *measure.Result) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.afterEnd = l.afterEnd || l.ended
	l.intervals = append(l.intervals, r)
}

func (l *liveLog) end() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ended = true
}

// check compares the live reports with the finished result: one start
// first, then exactly the final intervals, each stream's and each sum.
func (l *liveLog) check(t *testing.T, final *measure.Result, omitted bool) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	require.False(t, l.afterEnd, "a report after the end, or start not first")
	require.NotNil(t, l.start)
	require.Equal(t, final.Cookie, l.start.Cookie)
	require.Equal(t, final.LocalAddr, l.start.LocalAddr)
	require.Len(t, l.start.Directions, len(final.Directions))
	for d := range final.Directions {
		require.Len(t, l.start.Directions[d].Streams, len(final.Directions[d].Streams))
		require.Empty(t, l.start.Directions[d].Intervals)
	}
	n := len(final.Directions[0].Intervals)
	require.Positive(t, n)
	require.Len(t, l.intervals, n)
	for i, live := range l.intervals {
		require.Len(t, live.Directions, len(final.Directions))
		for d, fd := range final.Directions {
			ld := live.Directions[d]
			require.Equal(t, fd.Direction, ld.Direction)
			require.Equal(t, []measure.Interval{fd.Intervals[i]}, ld.Intervals, "sum of interval %d", i)
			for k, fs := range fd.Streams {
				require.Equal(t, fs.ID, ld.Streams[k].ID)
				require.Equal(t, []measure.Interval{fs.Intervals[i]}, ld.Streams[k].Intervals, "stream %d interval %d", fs.ID, i)
			}
		}
	}
	require.Equal(t, omitted, l.intervals[0].Directions[0].Intervals[0].Omitted)
}

// The live hooks of client and server deliver every interval as the
// finished result has it, start first, all before the test's end.
func TestLiveReports(t *testing.T) {
	cases := []struct {
		name string
		test measure.Test
	}{
		{"tcp", measure.Test{Bitrate: 100e6}},
		{"udp", measure.Test{Protocol: measure.UDP, Bitrate: 10e6}},
		{"reverse -P 2", measure.Test{Reverse: true, Parallel: 2, Bitrate: 50e6}},
		{"bidir udp", measure.Test{Bidir: true, Protocol: measure.UDP, Bitrate: 10e6}},
		{"omit", measure.Test{Omit: 500 * time.Millisecond, Bitrate: 100e6}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var server liveLog
			srv := &measure.Server{
				Interval:    300 * time.Millisecond,
				OnTestStart: func(st measure.ServedTest) { server.onStart(st.Result) },
				OnInterval:  func(st measure.ServedTest) { server.onInterval(st.Result) },
				OnResult:    func(measure.ServedTest) { server.end() },
			}
			ts := servertest.Start(t, srv, "127.0.0.1:0")
			var client liveLog
			test := tc.test
			test.Host, test.Port = ts.Host, ts.Port
			test.Duration, test.Interval = 1200*time.Millisecond, 250*time.Millisecond
			test.OnStart, test.OnInterval = client.onStart, client.onInterval
			res, err := (&measure.Client{}).Run(context.Background(), test)
			require.NoError(t, err)
			client.end()
			client.check(t, res, test.Omit > 0)
			st := ts.WaitResults(t, 1, 10*time.Second)[0]
			require.NoError(t, st.Err)
			server.check(t, st.Result, test.Omit > 0)
		})
	}
}
