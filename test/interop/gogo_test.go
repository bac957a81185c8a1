package interop

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/measure"
	"github.com/stretchr/testify/require"
)

// TestGoClientGoServer runs our client against our server and compares
// both ends' records of the same tests.
func TestGoClientGoServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan measure.ServedTest, 1)
	srv := &measure.Server{OnResult: func(st measure.ServedTest) { served <- st }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		_ = srv.Close()
		<-done
	})
	port := ln.Addr().(*net.TCPAddr).Port

	for _, proto := range []measure.Protocol{measure.TCP, measure.UDP} {
		for _, mode := range []string{"forward", "reverse", "bidir"} {
			t.Run(fmt.Sprintf("%s/%s", proto, mode), func(t *testing.T) {
				test := measure.Test{Host: "127.0.0.1", Port: port, Protocol: proto, Duration: time.Second, Parallel: 2,
					Reverse: mode == "reverse", Bidir: mode == "bidir"}
				if proto == measure.UDP {
					test.Bitrate, test.Length = 100_000_000, 1400
				}
				res, err := (&measure.Client{}).Run(context.Background(), test)
				require.NoError(t, err)
				var st measure.ServedTest
				select {
				case st = <-served:
				case <-time.After(10 * time.Second):
					t.Fatal("server reported no result")
				}
				require.NoError(t, st.Err)
				require.NotNil(t, st.Result)
				require.Equal(t, res.Cookie, st.Cookie)
				require.Len(t, st.Result.Directions, len(res.Directions))
				for i, d := range res.Directions {
					sd := st.Result.Directions[i].Sum
					c := d.Sum
					t.Logf("%s: client view sent %d recv %d; server view sent %d recv %d", d.Direction, c.SenderBytes, c.ReceiverBytes, sd.SenderBytes, sd.ReceiverBytes)
					require.Equal(t, d.Direction, st.Result.Directions[i].Direction)
					require.Equal(t, c.SenderBytes, sd.SenderBytes)
					require.Equal(t, c.ReceiverBytes, sd.ReceiverBytes)
					require.Positive(t, c.ReceiverBitsPerSecond)
					require.LessOrEqual(t, c.ReceiverBytes, c.SenderBytes)
					if proto == measure.UDP {
						require.Equal(t, c.SenderPackets, sd.SenderPackets)
						require.Equal(t, c.LostPackets, sd.LostPackets)
						// Pacing never overshoots; on a starved host (race
						// detector, busy CI) it may fall short.
						require.Less(t, c.SenderBitsPerSecond, 2*100e6*1.05)
						require.Greater(t, c.SenderBitsPerSecond, 2*100e6*0.3)
					}
				}
			})
		}
	}
}
