package interop

import (
	"context"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/stockiperf"
	"github.com/iperfmon/iperfmon/measure"
	"github.com/stretchr/testify/require"
)

// A stock server that once served --get-server-output keeps sending its
// output to every later client; a client that did not ask ignores it.
func TestServerOutputOnlyWhenAsked(t *testing.T) {
	stockiperf.Each(t, func(t *testing.T, v stockiperf.Version, bin string) {
		port := stockiperf.StartServerWith(t, bin)
		for i, ask := range []bool{true, false, false} {
			var res *measure.Result
			var err error
			// The stock server takes a moment to reset after a test (busy,
			// or its listener closed and reopened).
			for try := 0; try < 50; try++ {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				res, err = (&measure.Client{}).Run(ctx, measure.Test{
					Host: "127.0.0.1", Port: port, Duration: 300 * time.Millisecond, GetServerOutput: ask,
				})
				cancel()
				if c := measure.Classify(err); c != measure.CodeServerBusy && c != measure.CodeConnectionFailed {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			require.NoError(t, err, "test %d", i)
			if ask {
				require.NotEmpty(t, res.ServerOutputText, "test %d asked for the server output", i)
			} else {
				require.Empty(t, res.ServerOutputText, "test %d did not ask for the server output", i)
				require.Empty(t, res.ServerOutputJSON, "test %d did not ask for the server output", i)
			}
		}
	})
}
