package measure

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestStripIPv4(t *testing.T) {
	pkt := func(ihl int, payload ...byte) []byte {
		b := make([]byte, ihl*4)
		b[0] = 0x40 | byte(ihl)
		return append(b, payload...)
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want []byte
	}{
		{"plain header", pkt(5, 0, 0, 1, 2), []byte{0, 0, 1, 2}},
		{"with options", pkt(6, 8, 0, 3), []byte{8, 0, 3}},
		{"not IPv4: left alone", append([]byte{0x60}, make([]byte, 23)...), append([]byte{0x60}, make([]byte, 23)...)},
		{"too short: left alone", []byte{0x45, 1, 2}, []byte{0x45, 1, 2}},
		{"header longer than the packet: left alone", pkt(15)[:30], pkt(15)[:30]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := append([]byte(nil), tc.in...)
			n := stripIPv4(b, len(b))
			require.Equal(t, tc.want, b[:n])
		})
	}
}

// Without a timestamp in the control data the read's own time stands in.
func TestKernelStampMissing(t *testing.T) {
	before := time.Now()
	require.False(t, kernelStamp(nil).Before(before))
}

// A reply read late still carries the time it arrived. A loaded host
// may deliver the reply itself late (softirq deferred to ksoftirqd), which
// looks the same from here, so the probe is tried up to three times: with
// the read's own time standing in, every try fails.
func TestKernelStampUsed(t *testing.T) {
	icmpAvailable(t)
	c, _, err := openICMP(false, nil)
	require.NoError(t, err)
	defer c.Close()
	p := &prober{conn: c, dst: &net.IPAddr{IP: net.IPv4(127, 0, 0, 1)}, pending: map[uint16]time.Time{}, id: 0x5a17}
	copy(p.nonce[:], "stamptst")
	if _, ok := c.LocalAddr().(*net.UDPAddr); ok {
		p.dst = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	}
	read := probeReader(c, false)
	buf := make([]byte, 1500)
	var age time.Duration
	for try := 0; try < 3 && age <= 80*time.Millisecond; try++ {
		p.send()
		time.Sleep(100 * time.Millisecond)
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		for {
			n, from, at, err := read(buf)
			require.NoError(t, err)
			// A raw ICMP socket also gets the other ICMP on the host
			// (other tests' probes): only this try's reply counts.
			if seq, ok := p.reply(buf[:n], from); ok && seq == p.seq {
				age = time.Since(at)
				break
			}
		}
	}
	require.Greater(t, age, 80*time.Millisecond, "the time of the read, not of the arrival")
}
