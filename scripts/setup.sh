#!/usr/bin/env bash
# Installs what iperfmon's tests and examples need on Debian (bookworm) and
# downloads the Go modules. Safe to run again: it installs only what is missing.
#
#   bash scripts/setup.sh
#
# Needs root for apt-get (or passwordless sudo); without either it prints the
# command to run and stops. Go must be installed (Go 1.26, /usr/local/go).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { echo "setup: $*" >&2; }

# Debian package -> a command it provides, to tell whether it is installed.
#   iperf3           stock iperf3, the interop peer
#   influxdb         influxd 1.x (end-to-end tests, regression queries)
#   influxdb-client  influx CLI
#   prometheus       promtool (alert rule tests) and the prometheus server (exporter e2e)
#   iproute2         ip, tc (network namespaces, netem)
#   nftables         nft (firewall tests)
#   iputils-ping     ping (the accuracy suite's latency reference)
declare -A want=(
	[iperf3]=iperf3
	[influxdb]=influxd
	[influxdb-client]=influx
	[prometheus]=promtool
	[iproute2]=ip
	[nftables]=nft
	[iputils-ping]=ping
)

missing=()
for pkg in "${!want[@]}"; do
	# sbin is not always in a non-root PATH.
	if ! PATH="$PATH:/usr/sbin:/sbin" command -v "${want[$pkg]}" >/dev/null 2>&1; then
		missing+=("$pkg")
	fi
done

if ((${#missing[@]})); then
	log "installing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt=(apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
	if [[ $(id -u) -eq 0 ]]; then
		sudo=()
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		sudo=(sudo -n env DEBIAN_FRONTEND=noninteractive)
	else
		log "not root and no passwordless sudo; run as root:"
		log "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
		exit 1
	fi
	"${sudo[@]}" apt-get update -q
	"${sudo[@]}" "${apt[@]}" install --no-install-recommends "${missing[@]}"
else
	log "Debian packages present: ${!want[*]}"
fi

# Go: /usr/local/go is where the official tarball goes; add it when PATH lacks it.
if ! command -v go >/dev/null; then
	if [[ -x /usr/local/go/bin/go ]]; then
		export PATH="/usr/local/go/bin:$PATH"
		log "go is not in PATH; add it: export PATH=/usr/local/go/bin:\$PATH"
	else
		log "Go 1.26 or newer is required (https://go.dev/dl/, unpacked to /usr/local/go)"
		exit 1
	fi
fi
gover=$(go env GOVERSION)
case "$gover" in
go1.2[6-9]* | go1.[3-9][0-9]* | go[2-9]*) ;;
*)
	log "Go 1.26 or newer is required, found $gover"
	exit 1
	;;
esac

source scripts/goenv.sh
log "downloading Go modules ($gover)"
go mod download

log "done. Next: go run ./cmd/iperfmon once   |   bash scripts/test.sh"
