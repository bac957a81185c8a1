#!/usr/bin/env bash
# Side-by-side benchmark of iperfmon and stock iperf3 on loopback:
#
#   bash scripts/bench.sh        # on a machine with no other heavy job running
#
# Builds iperfmon, then runs test/bench once against Debian's iperf3 3.12 and
# once against 3.22 (one thread per stream, --gsro): TCP (1 stream, -R,
# -P 4, -P 8, -P 16) with
# iperfmon as client against `iperf3 -s` and as server for an iperf3 client,
# UDP -b 0 packets/s (-l 1400, -l 64) tool against itself, CPU seconds per
# Gbit (getrusage of each process), peak RSS and the idle RSS of
# `iperfmon run`. Every pairing runs BENCH_REPS times in alternating order;
# the table shows medians, ratios iperfmon/iperf3 and whether each target
# (docs/performance.md) is met. Exit status 3 when a target is missed.
# Only 127.0.0.1 and kernel-chosen free ports are used. Not part of CI.
#
# Knobs (environment):
#   BENCH_REPS=3 BENCH_TIME=3 BENCH_OMIT=1   repetitions, -t and -O per run
#   BENCH_QUICK=1        smoke run: 1 repetition of -t 1 -O 0
#   BENCH_ONLY=REGEX     modes to run: tcp tcp-R tcp-P4 tcp-P8 tcp-P16 udp1400
#                        udp64 udp1400-gsro (the last with a stock iperf3 that has --gsro)
#   BENCH_CLIENT_CPUS=0 BENCH_SERVER_CPUS=1   taskset CPU lists, empty: unpinned
#   BENCH_MAX_STEAL=2    a run in which the hypervisor stole more than this
#                        percentage of one watched CPU (the pinned ones, all
#                        when unpinned; from /proc/stat) is discarded and run
#                        again before the next pairing; 100 keeps every run
#   BENCH_MAX_OTHER=10   likewise for the share of the watched CPUs busy with
#                        other work (beyond the two processes' CPU seconds)
#   BENCH_MAX_RERUNS=3   extra runs at most per mode and pairing
#   BENCH_SETTLE=20      before a rerun, wait at most this many seconds for
#                        a second under both thresholds
#   BENCH_RERUN_TIME=300 seconds at most for all extra runs (and waits) together
#   BENCH_MIN_CLEAN=N    clean runs a row needs per side to show a ratio
#                        (default: half of BENCH_REPS, rounded up); fewer
#                        prints "too few clean runs" and counts as not met
#   IPERF3=/usr/bin/iperf3   the stock iperf3 to compare with
#   IPERF3_322=PATH      stock iperf3 3.22 (default: IPERFMON_IPERF3_322, else
#                        scripts/stock-iperf3.sh sid); none skips that table
#   IPERFMON=PATH        an iperfmon binary to use instead of building one
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

[[ -x /usr/local/go/bin/go ]] && ! command -v go >/dev/null && export PATH="/usr/local/go/bin:$PATH"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"

: "${IPERF3:=/usr/bin/iperf3}"
if [[ ! -x "$IPERF3" ]]; then
	echo "E! $IPERF3 not found: install iperf3 or set IPERF3" >&2
	exit 2
fi
if [[ -n "${BENCH_CLIENT_CPUS-0}${BENCH_SERVER_CPUS-1}" ]] && ! command -v taskset >/dev/null; then
	echo "E! taskset not found: install util-linux or set BENCH_CLIENT_CPUS= BENCH_SERVER_CPUS=" >&2
	exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/iperfmon-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if [[ -z "${IPERFMON:-}" ]]; then
	# As it ships: static, no cgo (a cgo build also maps libc, about 1 MB of RSS).
	CGO_ENABLED=0 go build -trimpath -o "$tmp/iperfmon" ./cmd/iperfmon
	IPERFMON="$tmp/iperfmon"
fi
go build -o "$tmp/bench" ./test/bench

: "${IPERF3_322:=${IPERFMON_IPERF3_322:-}}"
if [[ -z "$IPERF3_322" ]]; then
	IPERF3_322=$(bash scripts/stock-iperf3.sh sid) || IPERF3_322=none
fi
stocks=("$IPERF3")
if [[ "$IPERF3_322" == none ]]; then
	echo "W! no stock iperf3 3.22 (IPERF3_322=none or scripts/stock-iperf3.sh sid failed): comparing with $IPERF3 only" >&2
else
	stocks+=("$IPERF3_322")
fi

# One table per stock version; exit 3 if any table misses a target.
status=0
for stock in "${stocks[@]}"; do
	echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, kernel $(uname -r), $("$stock" --version | head -n1), $("$IPERFMON" version 2>/dev/null | head -n1), $(go version | cut -d' ' -f3)"
	rc=0
	IPERFMON="$IPERFMON" IPERF3="$stock" "$tmp/bench" || rc=$?
	case $rc in
	0) ;;
	3) status=3 ;;
	*) exit "$rc" ;;
	esac
	echo
done
exit "$status"
