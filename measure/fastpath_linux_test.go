//go:build linux

package measure

import (
	"context"
	"io"
	"net"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/iperfmon/iperfmon/internal/iperf3wire"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestFastPathSelection(t *testing.T) {
	for _, m := range fastModes {
		t.Run(m.name, func(t *testing.T) {
			cfg := streamConfig{Protocol: UDP, Length: 1400, Portable: m.portable, NoGSO: m.noGSO}
			a, b := udpPair(t)
			tx := newDataStream(1, true, a, cfg)
			rx := newDataStream(1, false, b, cfg)
			if m.portable {
				require.Nil(t, tx.fast.tx)
				require.Nil(t, rx.fast.rx)
				return
			}
			require.NotNil(t, tx.fast.tx)
			require.NotNil(t, rx.fast.rx)
			wantGSO := !m.noGSO && gsoSupported(mustRaw(t, a))
			require.Equal(t, wantGSO, tx.fast.tx.(*mmsgTx).gso)
			require.Equal(t, wantGSO, rx.fast.rx.(*mmsgRx).gro)
			if wantGSO {
				// 46 segments of 1400 bytes fit one 64 KiB send.
				require.Equal(t, 46, tx.fast.tx.(*mmsgTx).segs)
			}
		})
	}
	t.Run("rcvbuf", func(t *testing.T) {
		_, b := udpPair(t)
		newDataStream(1, false, b, streamConfig{Protocol: UDP, Length: 1400})
		got := 0
		require.NoError(t, mustRaw(t, b).Control(func(fd uintptr) {
			got, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
		}))
		// Several MiB, through rmem_max or SO_RCVBUFFORCE (root).
		if os.Geteuid() == 0 {
			require.GreaterOrEqual(t, got, udpSocketBuf)
		}
	})
}

func mustRaw(t *testing.T, c interface {
	SyscallConn() (syscall.RawConn, error)
}) syscall.RawConn {
	t.Helper()
	rc, err := c.SyscallConn()
	require.NoError(t, err)
	return rc
}

// sendSeqs sends one batch whose datagrams carry the given sequence numbers.
func sendSeqs(t *testing.T, tx *mmsgTx, seqs []uint64, c64 bool) {
	t.Helper()
	now := time.Now()
	for i, q := range seqs {
		iperf3wire.PutUDPHeader(tx.buf[i*tx.size:], iperf3wire.UDPHeader{Sec: uint32(now.Unix()), Usec: uint32(now.Nanosecond() / 1000), Seq: q}, c64)
	}
	n, err := tx.send(len(seqs))
	require.NoError(t, err)
	require.Equal(t, len(seqs), n)
}

// TestGROAccountsEveryDatagram: one GSO send of crafted sequence numbers
// arrives as one coalesced message; loss and out-of-order are still
// counted per datagram, as with one datagram per read.
func TestGROAccountsEveryDatagram(t *testing.T) {
	for _, m := range fastModes[1:] {
		t.Run(m.name, func(t *testing.T) {
			cfg := streamConfig{Protocol: UDP, Length: 200, NoGSO: m.noGSO, Interval: time.Second}
			a, b := udpPair(t)
			tx := newMmsgTx(a, cfg, !m.noGSO)
			require.NotNil(t, tx)
			dp := startDataPhase(context.Background(), cfg, []*dataStream{newDataStream(1, false, b, cfg)})
			sendSeqs(t, tx, []uint64{1, 2, 3, 6, 7}, false)
			sendSeqs(t, tx, []uint64{5, 8, 10}, false)
			require.Eventually(t, func() bool { return dp.streams[0].packets.Load() == 10 }, 5*time.Second, 2*time.Millisecond)
			dp.Stop()
			r := dp.Results()
			sr := r.Streams[0]
			require.Equal(t, int64(1600), sr.Bytes.Int())
			require.Equal(t, int64(10), sr.Packets.Int())
			require.Equal(t, int64(2), sr.Errors.Int()) // 4 and 9 missing; 5 came late
			require.Equal(t, int64(1), dp.streams[0].ooo.Load())
		})
	}
}

// TestGROCoalesces checks that GSO+GRO really move many datagrams per
// syscall on this kernel (otherwise the fast path is only sendmmsg).
func TestGROCoalesces(t *testing.T) {
	a, b := udpPair(t)
	cfg := streamConfig{Protocol: UDP, Length: 1400}
	tx := newMmsgTx(a, cfg, true)
	rx := newMmsgRx(b, cfg, true)
	if !tx.gso || !rx.gro {
		t.Skip("kernel without UDP GSO/GRO")
	}
	seqs := make([]uint64, tx.segs)
	for i := range seqs {
		seqs[i] = uint64(i + 1)
	}
	sendSeqs(t, tx, seqs, false)
	require.NoError(t, b.SetReadDeadline(time.Now().Add(5*time.Second)))
	dgs, err := rx.recv()
	require.NoError(t, err)
	require.Len(t, dgs, len(seqs))
	for i, d := range dgs {
		h, err := iperf3wire.ParseUDPHeader(d, false)
		require.NoError(t, err)
		require.Equal(t, uint64(i+1), h.Seq)
		require.Len(t, d, 1400)
	}
}

// TestGSODegrades: a GSO failure (EIO: no checksum offload, EINVAL,
// EMSGSIZE) moves that stream to plain sendmmsg and resends the batch;
// a first EPERM is retried once. No datagram is lost or duplicated.
func TestGSODegrades(t *testing.T) {
	tests := []struct {
		name    string
		inject  []syscall.Errno
		wantGSO bool
		wantErr bool
	}{
		{"EIO", []syscall.Errno{unix.EIO}, false, false},
		{"EINVAL", []syscall.Errno{unix.EINVAL}, false, false},
		{"EMSGSIZE", []syscall.Errno{unix.EMSGSIZE}, false, false},
		{"first EPERM retried", []syscall.Errno{unix.EPERM}, true, false},
		{"EPERM twice fails", []syscall.Errno{unix.EPERM, unix.EPERM}, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := udpPair(t)
			cfg := streamConfig{Protocol: UDP, Length: 1000}
			tx := newMmsgTx(a, cfg, true)
			rx := newMmsgRx(b, cfg, true)
			if !tx.gso {
				t.Skip("kernel without UDP GSO")
			}
			require.NoError(t, b.SetReadBuffer(udpSocketBuf)) // no drops when resent one by one
			tx.inject = tc.inject
			n := 3 * tx.segs
			_, err := tx.send(n)
			if tc.wantErr {
				require.ErrorIs(t, err, unix.EPERM)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantGSO, tx.gso)
			require.NoError(t, b.SetReadDeadline(time.Now().Add(5*time.Second)))
			got := 0
			for got < n {
				dgs, err := rx.recv()
				require.NoError(t, err)
				for _, d := range dgs {
					require.Len(t, d, 1000)
				}
				got += len(dgs)
			}
			require.Equal(t, n, got)
		})
	}
}

// TestGSODegradesOnSmallMTU is the real-kernel case: in a private network
// namespace whose loopback has a 1500-byte MTU, GSO segments of 3000 bytes
// exceed the path MTU; the stream must fall back and still deliver.
func TestGSODegradesOnSmallMTU(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace")
	}
	a, b := udpPairInNetns(t, 1500)
	// 1 Gbit/s: the pacer releases 100 µs of rate (4 datagrams) at a
	// time, so the sends are GSO batches; at low rates it sends single
	// datagrams, which need no GSO and would not fail.
	cfg := streamConfig{Protocol: UDP, Length: 3000, Blocks: 200, Bitrate: 1e9, Interval: time.Second}
	snd, rcv := newDataStream(1, true, a, cfg), newDataStream(1, false, b, cfg)
	if tx, ok := snd.fast.tx.(*mmsgTx); !ok || !tx.gso {
		t.Skip("kernel without UDP GSO")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rp := startDataPhase(ctx, cfg, []*dataStream{rcv})
	sp := startDataPhase(ctx, cfg, []*dataStream{snd})
	<-sp.Done()
	require.Eventually(t, func() bool { return rcv.packets.Load() == 200 }, 10*time.Second, 2*time.Millisecond)
	sp.Stop()
	rp.Stop()
	require.NoError(t, sp.Err())
	require.NoError(t, rp.Err())
	require.False(t, snd.fast.tx.(*mmsgTx).gso, "GSO should have been dropped for this stream")
	require.Equal(t, int64(200*3000), rcv.bytes.Load())
	require.Zero(t, rcv.lost.Load())
}

// udpPairInNetns returns a connected UDP pair on the loopback of a new
// network namespace with the given MTU. The namespace lives as long as its
// sockets; the thread that entered it is never reused (it exits locked).
func udpPairInNetns(t *testing.T, mtu int) (a, b *net.UDPConn) {
	t.Helper()
	type res struct {
		a, b *net.UDPConn
		err  error
	}
	ch := make(chan res, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with this goroutine
		r := res{}
		defer func() { ch <- r }()
		if r.err = unix.Unshare(unix.CLONE_NEWNET); r.err != nil {
			return
		}
		if r.err = setLoopback(mtu); r.err != nil {
			return
		}
		la, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			r.err = err
			return
		}
		lb, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			la.Close()
			r.err = err
			return
		}
		aa, ba := la.LocalAddr().(*net.UDPAddr), lb.LocalAddr().(*net.UDPAddr)
		la.Close()
		lb.Close()
		if r.a, r.err = net.DialUDP("udp4", aa, ba); r.err != nil {
			return
		}
		r.b, r.err = net.DialUDP("udp4", ba, aa)
	}()
	r := <-ch
	if r.err != nil {
		t.Skipf("network namespace unavailable: %v", r.err)
	}
	t.Cleanup(func() { r.a.Close(); r.b.Close() })
	return r.a, r.b
}

// setLoopback brings lo up with the given MTU through ioctls (no tools).
func setLoopback(mtu int) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	ifr.SetUint32(uint32(mtu))
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFMTU, ifr); err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// TestFastPathZeroAllocs: the Linux data paths allocate nothing per
// datagram or block once set up.
func TestFastPathZeroAllocs(t *testing.T) {
	for _, m := range fastModes[1:] {
		t.Run("udp "+m.name, func(t *testing.T) {
			cfg := streamConfig{Protocol: UDP, Length: 1400, NoGSO: m.noGSO}
			a, b := udpPair(t)
			snd, rcv := newDataStream(1, true, a, cfg), newDataStream(1, false, b, cfg)
			tx, rx := snd.fast.tx, rcv.fast.rx
			require.NoError(t, b.SetReadDeadline(time.Now().Add(time.Minute)))
			n := min(tx.capacity(), 32)
			allocs := testing.AllocsPerRun(200, func() {
				now := time.Now()
				for i := range n {
					iperf3wire.PutUDPHeader(tx.buffer()[i*1400:], iperf3wire.UDPHeader{Sec: uint32(now.Unix()), Seq: uint64(i + 1)}, false)
				}
				if sent, err := tx.send(n); err != nil || sent != n {
					t.Fatal("send", sent, err)
				}
				for got := 0; got < n; {
					dgs, err := rx.recv()
					if err != nil {
						t.Fatal(err)
					}
					for _, d := range dgs {
						rcv.accountDatagram(d, now)
					}
					got += len(dgs)
				}
				rcv.publishRx()
			})
			require.Zero(t, allocs)
		})
	}
	t.Run("tcp MSG_TRUNC and sendfile", func(t *testing.T) {
		cfg := streamConfig{Protocol: TCP, Length: 64 << 10, ZeroCopy: true}
		a, b := tcpPair(t)
		snd, rcv := newDataStream(1, true, a, cfg), newDataStream(1, false, b, cfg)
		require.True(t, snd.fast.sendfile)
		require.True(t, rcv.fast.truncRead)
		done := make(chan int64)
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
		var sent int64
		allocs := testing.AllocsPerRun(200, func() {
			n, err := snd.write(snd.buf[:cfg.Length])
			if err != nil {
				t.Fatal(err)
			}
			sent += int64(n)
		})
		require.Zero(t, allocs)
		require.NoError(t, a.CloseWrite())
		require.Equal(t, sent, <-done)
	})
}

// TestTruncReaderEOFAndDeadline: MSG_TRUNC keeps net.Conn.Read's contract.
func TestTruncReaderEOFAndDeadline(t *testing.T) {
	a, b := tcpPair(t)
	r := newTruncReader(b)
	require.NotNil(t, r)
	_, err := a.Write(make([]byte, 1000))
	require.NoError(t, err)
	buf := make([]byte, 4096)
	require.NoError(t, b.SetReadDeadline(time.Now().Add(5*time.Second)))
	got := 0
	for got < 1000 {
		n, err := r.read(buf)
		require.NoError(t, err)
		got += n
	}
	require.Equal(t, 1000, got)
	require.NoError(t, b.SetReadDeadline(time.Now().Add(50*time.Millisecond)))
	_, err = r.read(buf)
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	require.NoError(t, b.SetReadDeadline(time.Now().Add(5*time.Second)))
	require.NoError(t, a.CloseWrite())
	_, err = r.read(buf)
	require.ErrorIs(t, err, io.EOF)
}
