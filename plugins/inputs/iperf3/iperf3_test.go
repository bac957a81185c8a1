package iperf3

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	tgconfig "github.com/influxdata/telegraf/config"
	"github.com/stretchr/testify/require"

	"github.com/iperfmon/iperfmon/config"
	"github.com/iperfmon/iperfmon/measure"
)

// loadWithTelegraf decodes conf with Telegraf's own config loader and
// returns the plugin instances it built.
func loadWithTelegraf(t *testing.T, conf string) ([]*Iperf3, error) {
	t.Helper()
	c := tgconfig.NewConfig()
	if err := c.LoadConfigData([]byte(conf), tgconfig.EmptySourcePath); err != nil {
		return nil, err
	}
	var out []*Iperf3
	for _, ri := range c.Inputs {
		out = append(out, ri.Input.(*Iperf3))
	}
	return out, nil
}

// The sample decodes, with Telegraf's decoder, to the documented defaults.
func TestSampleConfig(t *testing.T) {
	p := &Iperf3{}
	conf := p.SampleConfig()
	require.True(t, strings.HasPrefix(conf, "# "), "Telegraf sample configs start with a one-line description")

	plugins, err := loadWithTelegraf(t, conf)
	require.NoError(t, err)
	require.Len(t, plugins, 1)
	want := config.DefaultTable()
	want.Servers = []string{"iperf.example.net"}
	require.Equal(t, want, plugins[0].Table)
	require.NoError(t, plugins[0].Init())

	// Uncommenting every option keeps the table valid.
	uncommented := strings.ReplaceAll(conf, "\n  # ", "\n  ")
	uncommented = strings.ReplaceAll(uncommented, `username = ""`, `username = "mario"`)
	uncommented = strings.ReplaceAll(uncommented, `/etc/telegraf/iperf3-public.pem`, `../../../config/testdata/public.pem`)
	uncommented = strings.ReplaceAll(uncommented, `password = ""`, `password = "rossi"`)
	tables, err := config.Parse([]byte(uncommented))
	require.NoError(t, err)
	require.Len(t, tables, 1)
}

// README.md shows sample.conf verbatim, as Telegraf's generator would.
func TestReadmeIncludesSample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	require.Contains(t, string(readme), "```toml @sample.conf\n"+sampleConfig+"```\n")
}

// Telegraf's decoder and config.Parse decode the same table alike.
func TestTelegrafDecodesLikeLoad(t *testing.T) {
	const conf = `
[[inputs.iperf3]]
  servers = ["iperf.example.net", "192.0.2.7:5202", "[2001:db8::1]"]
  schedule = "CRON_TZ=UTC 0 */2 * * *"
  splay = "1m30s"
  protocol = "udp"
  directions = ["bidir"]
  duration = 20
  omit = "2s"
  parallel = 4
  bitrate = "250M"
  length = "1400"
  window = "2M"
  tos = 184
  family = "auto"
  connect_timeout = "3s"
  timeout = "1m"
  busy_retries = 0
  busy_backoff = "1s"
  interval_metrics = true
`
	plugins, err := loadWithTelegraf(t, conf)
	require.NoError(t, err)
	require.Len(t, plugins, 1)
	tables, err := config.Parse([]byte(conf))
	require.NoError(t, err)
	require.Equal(t, tables[0].Targets(), plugins[0].Targets())
	require.Equal(t, tables[0].Servers, plugins[0].Servers)
	require.Equal(t, config.Rate(250_000_000), plugins[0].Bitrate)
	require.Equal(t, config.Duration(20*time.Second), plugins[0].Duration)
}

// Telegraf itself rejects unknown keys by line, and our types' parse errors
// surface through its loader.
func TestTelegrafRejects(t *testing.T) {
	_, err := loadWithTelegraf(t, "[[inputs.iperf3]]\n  servers = [\"h\"]\n  paralel = 2\n")
	require.ErrorContains(t, err, "line 1")
	require.ErrorContains(t, err, "paralel")

	_, err = loadWithTelegraf(t, "[[inputs.iperf3]]\n  servers = [\"h\"]\n  duration = \"10 seconds\"\n")
	require.ErrorContains(t, err, `invalid duration "10 seconds": allowed a duration like "10s" or "1m30s", or a number of seconds`)
}

func TestInitRejects(t *testing.T) {
	tbl := table("127.0.0.1")
	tbl.Parallel = 200
	p := &Iperf3{Table: tbl}
	require.EqualError(t, p.Init(), "inputs.iperf3: parallel = 200: allowed 1..128")

	p = &Iperf3{Table: table()}
	require.ErrorContains(t, p.Init(), "inputs.iperf3: servers = []: allowed one or more")
}

// Inside Telegraf the password is a secret (config.Secret, so a secret
// store may hold it); Init hands it to the tests.
func TestPasswordIsASecret(t *testing.T) {
	t.Setenv("IPERF3_PASSWORD", "")
	plugins, err := loadWithTelegraf(t, `
[[inputs.iperf3]]
  servers = ["192.0.2.7"]
  username = "mario"
  password = "rossi"
  rsa_public_key = "../../../config/testdata/public.pem"
`)
	require.NoError(t, err)
	require.Len(t, plugins, 1)
	p := plugins[0]
	require.False(t, p.Password.Empty())
	require.Empty(t, p.Table.Password, "the decoder leaves the plain field alone")
	p.run = func(context.Context, measure.Test) (*measure.Result, error) { return nil, nil }
	require.NoError(t, p.Init())
	require.Equal(t, "rossi", p.Table.Password)
	for _, tg := range p.targets {
		require.Equal(t, "rossi", tg.Test.Password)
	}

	// Without a password (and no IPERF3_PASSWORD) the table is refused.
	plugins, err = loadWithTelegraf(t, `
[[inputs.iperf3]]
  servers = ["192.0.2.7"]
  username = "mario"
  rsa_public_key = "../../../config/testdata/public.pem"
`)
	require.NoError(t, err)
	require.ErrorContains(t, plugins[0].Init(), "password")
}
