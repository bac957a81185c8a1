package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseServer(t *testing.T) {
	for _, tc := range []struct {
		in   string
		host string
		port int
		err  string
	}{
		{in: "iperf.example.net", host: "iperf.example.net", port: 5201},
		{in: "iperf.example.net.", host: "iperf.example.net.", port: 5201},
		{in: "my_host-1:5202", host: "my_host-1", port: 5202},
		{in: "192.0.2.7:5202", host: "192.0.2.7", port: 5202},
		{in: "127.0.0.1", host: "127.0.0.1", port: 5201},
		{in: "[::1]", host: "::1", port: 5201},
		{in: "[2001:db8::1]:65535", host: "2001:db8::1", port: 65535},
		{in: "[fe80::1%eth0]:5201", host: "fe80::1%eth0", port: 5201},
		{in: "", err: "empty"},
		{in: "::1", err: "IPv6 addresses need brackets"},
		{in: "[::1", err: `missing "]"`},
		{in: "[::1]5201", err: `unexpected "5201" after "]"`},
		{in: "[192.0.2.1]", err: `"192.0.2.1" in brackets is not an IPv6 address`},
		{in: "host:0", err: `port "0" out of range 1..65535`},
		{in: "host:", err: `port "" out of range 1..65535`},
		{in: "host:+5", err: `port "+5" out of range 1..65535`},
		{in: "host:http", err: `port "http" out of range 1..65535`},
		{in: "tcp://host", err: "a URL, not a host"},
		{in: " host", err: "not a host name or address"},
		{in: "user@host", err: "not a host name or address"},
		{in: "-host", err: `"-host" is not a host name or address`},
		{in: "a..b", err: `"a..b" is not a host name or address`},
		{in: "256.1.1.1", err: `"256.1.1.1" is not a host name or address`},
		{in: ":5201", err: `"" is not a host name or address`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			host, port, err := ParseServer(tc.in)
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.host, host)
			require.Equal(t, tc.port, port)
		})
	}
}
