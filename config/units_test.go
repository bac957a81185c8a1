package config

import (
	"testing"
	"time"

	"github.com/influxdata/toml"
	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/measure"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  bool
	}{
		{in: "0", want: 0},
		{in: "1400", want: 1400},
		{in: "128K", want: 128 << 10},
		{in: "128k", want: 128 << 10},
		{in: "1M", want: 1 << 20},
		{in: "1.5M", want: 3 << 19},
		{in: "2g", want: 2 << 30},
		{in: "1T", want: 1 << 40},
		{in: "1.3K", want: 1331}, // truncated, as iperf3's unit_atoi
		{in: " 64K ", want: 64 << 10},
		{in: "", err: true},
		{in: "K", err: true},
		{in: "-5", err: true},
		{in: "+5", err: true},
		{in: "1e3", err: true},
		{in: "12X", err: true},
		{in: "128KB", err: true},
		{in: "1.2.3", err: true},
		{in: "NaN", err: true},
		{in: "99999999T", err: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSize(tc.in)
			if tc.err {
				require.EqualError(t, err, `invalid size "`+tc.in+`": allowed `+allowedSize)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  bool
	}{
		{in: "0", want: measure.BitrateUnlimited},
		{in: "0M", want: measure.BitrateUnlimited},
		{in: "1", want: 1},
		{in: "250000", want: 250000},
		{in: "100k", want: 100_000},
		{in: "100M", want: 100_000_000},
		{in: "1.5g", want: 1_500_000_000},
		{in: "10G", want: 10_000_000_000},
		{in: "2t", want: 2_000_000_000_000},
		{in: "", err: true},
		{in: "0.5", err: true},
		{in: "-1M", err: true},
		{in: "100Mbps", err: true},
		{in: "100M/10", err: true},
		{in: "fast", err: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseRate(tc.in)
			if tc.err {
				require.EqualError(t, err, `invalid rate "`+tc.in+`": allowed `+allowedRate)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{in: "10s", want: 10 * time.Second},
		{in: "1m30s", want: 90 * time.Second},
		{in: "250ms", want: 250 * time.Millisecond},
		{in: "0s", want: 0},
		{in: "10", want: 10 * time.Second},
		{in: "0.5", want: 500 * time.Millisecond},
		{in: "", err: `invalid duration "": allowed ` + allowedDuration},
		{in: "10 seconds", err: `invalid duration "10 seconds": allowed ` + allowedDuration},
		{in: "1d", err: `invalid duration "1d": allowed ` + allowedDuration},
		{in: "Inf", err: `invalid duration "Inf": allowed ` + allowedDuration},
		{in: "-5s", err: `invalid duration "-5s": allowed a duration that is not negative`},
		{in: "-1", err: `invalid duration "-1": allowed a duration that is not negative`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDuration(tc.in)
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestFormat(t *testing.T) {
	require.Equal(t, "128K", Size(128<<10).String())
	require.Equal(t, "1400", Size(1400).String())
	require.Equal(t, "", Size(0).String())
	require.Equal(t, "100M", Rate(100_000_000).String())
	require.Equal(t, "1500K", Rate(1_500_000).String())
	require.Equal(t, "0", Rate(measure.BitrateUnlimited).String())
	require.Equal(t, "", Rate(0).String())
	require.Equal(t, "1m30s", Duration(90*time.Second).String())
}

// The types round-trip through the TOML decoder the way Telegraf uses it
// (encoding.TextUnmarshaler), including empty strings meaning "default".
func TestTextUnmarshalerWithTOML(t *testing.T) {
	var v struct {
		D Duration `toml:"d"`
		S Size     `toml:"s"`
		R Rate     `toml:"r"`
		E Rate     `toml:"e"`
		Z Rate     `toml:"z"`
	}
	v.E = 7
	require.NoError(t, toml.Unmarshal([]byte("d = \"1m30s\"\ns = \"64K\"\nr = \"1G\"\ne = \"\"\nz = 0\n"), &v))
	require.Equal(t, Duration(90*time.Second), v.D)
	require.Equal(t, Size(64<<10), v.S)
	require.Equal(t, Rate(1_000_000_000), v.R)
	require.Equal(t, Rate(0), v.E)
	require.Equal(t, Rate(measure.BitrateUnlimited), v.Z)

	err := toml.Unmarshal([]byte("s = \"12X\"\n"), &v)
	require.ErrorContains(t, err, `invalid size "12X": allowed`)
}
