package measure

import (
	"testing"
	"time"
)

// Data-path benchmarks. Run with
//
//	go test ./measure/ -run '^$' -bench . -benchmem
//
// Every data-path benchmark must show 0 allocs/op.

// BenchmarkTCPSendRecv is the TCP block loop over loopback: one op is one
// 128 KiB block written by the sender primitive and drained by the
// receiver primitive (MSG_TRUNC on Linux in "fast", read(2) in "portable").
func BenchmarkTCPSendRecv(b *testing.B) {
	for _, m := range []struct {
		name     string
		portable bool
	}{{"portable", true}, {"fast", false}} {
		b.Run(m.name, func(b *testing.B) {
			cfg := streamConfig{Protocol: TCP, Length: 128 << 10, Portable: m.portable}
			a, c := tcpPair(b)
			snd, rcv := newDataStream(1, true, a, cfg), newDataStream(1, false, c, cfg)
			if err := c.SetReadDeadline(time.Now().Add(5 * time.Minute)); err != nil {
				b.Fatal(err)
			}
			done := make(chan int64, 1)
			go func() {
				var total int64
				for {
					n, err := rcv.read(rcv.buf)
					total += int64(n)
					if err != nil {
						done <- total
						return
					}
				}
			}()
			block := snd.buf[:cfg.Length]
			var sent int64
			b.SetBytes(int64(cfg.Length))
			b.ReportAllocs()
			for b.Loop() {
				n, err := snd.write(block)
				if err != nil {
					b.Fatal(err)
				}
				sent += int64(n)
			}
			b.StopTimer()
			if err := a.CloseWrite(); err != nil {
				b.Fatal(err)
			}
			if got := <-done; got != sent {
				b.Fatalf("received %d of %d bytes", got, sent)
			}
		})
	}
}
