//go:build linux

package accuracy

import (
	"os"
	"testing"

	"github.com/iperfmon/iperfmon/internal/testenv"
)

// tools holds the absolute paths of the programs the suite runs.
type tools struct {
	ip, tc, nft, ss, nice, iperf3 string
}

// requireTools returns the programs the suite needs, skipping (or failing in
// CI) when one is missing or when we are not root.
func requireTools(t testing.TB) tools {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Unavailable(t, "the accuracy suite needs root for network namespaces, tc and nftables (run: sudo go test ./test/accuracy/)")
	}
	var tl tools
	for _, x := range []struct {
		name string
		dst  *string
	}{{"ip", &tl.ip}, {"tc", &tl.tc}, {"nft", &tl.nft}, {"ss", &tl.ss}, {"nice", &tl.nice}, {"iperf3", &tl.iperf3}} {
		p, ok := testenv.LookTool(x.name)
		if !ok {
			testenv.Unavailable(t, "%s not found (install it with: bash scripts/setup.sh; packages iproute2, nftables, iperf3)", x.name)
		}
		*x.dst = p
	}
	return tl
}
