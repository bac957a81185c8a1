package measure

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSendBlock: an unpaced, unbudgeted TCP sender at the default block
// size on the fast path writes sendBatch blocks per call from the one
// shared payload; anything the user tuned, or a path that only returns
// when all is written, keeps block-sized writes.
func TestSendBlock(t *testing.T) {
	def := streamConfig{Length: DefaultTCPLength}
	cases := []struct {
		name  string
		cfg   func(*streamConfig)
		raw   bool
		paced bool
		want  int
	}{
		{"default", nil, true, false, sendBatch * DefaultTCPLength},
		{"repeating-payload", func(c *streamConfig) { c.Repeating = true }, true, false, sendBatch * DefaultTCPLength},
		{"portable-path", nil, false, false, DefaultTCPLength},
		{"paced", nil, true, true, DefaultTCPLength},
		{"user-length", func(c *streamConfig) { c.Length = 8 << 10 }, true, false, 8 << 10},
		{"bytes-budget", func(c *streamConfig) { c.Bytes = 1 << 20 }, true, false, DefaultTCPLength},
		{"blocks-budget", func(c *streamConfig) { c.Blocks = 10 }, true, false, DefaultTCPLength},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := def
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			d := &dataPhase{cfg: cfg}
			s := &dataStream{buf: make([]byte, cfg.Length)}
			s.fast.rawWrite = tc.raw
			got := d.sendBlock(s, tc.paced)
			require.Len(t, got, tc.want)
			if tc.want != sendBatch*DefaultTCPLength {
				require.Same(t, &s.buf[0], &got[0], "block-sized writes send the stream's own block")
				return
			}
			require.Same(t, &got[0], &d.sendBlock(&dataStream{fast: fastPath{rawWrite: true}}, false)[0], "every stream shares one payload")
			if cfg.Repeating {
				require.Equal(t, "0123456789", string(got[:10]))
			}
		})
	}
}
