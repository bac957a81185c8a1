#!/usr/bin/env bash
# Builds a Telegraf with only the plugins the end-to-end tests need and caches
# it. Prints the binary's path on stdout (logs go to stderr).
#
#   bash scripts/build-telegraf.sh                  stock Telegraf (inputs.execd, inputs.exec,
#                                                   outputs.influxdb, outputs.file)
#   bash scripts/build-telegraf.sh --with-iperfmon  the same plus this repository's
#                                                   [[inputs.iperf3]] plugin compiled in
#
# Telegraf is built from its own module (downloaded into the Go module cache)
# as its own main module, in a scratch copy: telegraf's cmd never enters
# iperfmon's go.mod. With --with-iperfmon the scratch copy gets a one-line
# import of plugins/inputs/iperf3 and a replace directive pointing here.
#
#   TELEGRAF_VERSION   default: the version go.mod requires
#   TELEGRAF_TAGS      build tags (default: the plugins above, influx parser/serializer)
#   IPERFMON_CACHE     cache dir (default ${XDG_CACHE_HOME:-$HOME/.cache}/iperfmon)
#
# Cache keys: the stock binary by version and tags; the plugin build also by a
# hash of this repository's Go sources, so it is rebuilt when they change.
set -euo pipefail

with_iperfmon=0
case "${1:-}" in
"") ;;
--with-iperfmon) with_iperfmon=1 ;;
*)
	echo "usage: $0 [--with-iperfmon]" >&2
	exit 2
	;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The Telegraf our plugin is built against: go.mod's requirement.
version="${TELEGRAF_VERSION:-$(awk '$1 == "github.com/influxdata/telegraf" {print $2; exit}' "$root/go.mod")}"
tags="${TELEGRAF_TAGS:-custom,inputs.execd,inputs.exec,outputs.influxdb,outputs.file,parsers.influx,serializers.influx}"
cache="${IPERFMON_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iperfmon}"

log() { echo "build-telegraf: $*" >&2; }

command -v go >/dev/null || [[ ! -x /usr/local/go/bin/go ]] || export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || {
	log "go not found in PATH (expected /usr/local/go/bin)"
	exit 1
}

out="$cache/telegraf-$version"
if ((with_iperfmon)); then
	[[ -d "$root/plugins/inputs/iperf3" ]] || {
		log "$root/plugins/inputs/iperf3 does not exist"
		exit 1
	}
	srcdirs=()
	for d in measure config plugins; do [[ -d "$root/$d" ]] && srcdirs+=("$d"); done
	src_hash=$(cd "$root" && { echo "$version $tags"; cat go.mod go.sum 2>/dev/null; find "${srcdirs[@]}" -name '*.go' -not -name '*_test.go' -type f | LC_ALL=C sort | xargs cat; } | sha256sum | cut -c1-12)
	out="$cache/telegraf-$version-iperfmon-$src_hash"
fi
# The tags are part of the key: a different plugin set is a different binary.
stamp="$out.tags"

if [[ -x "$out" && -f "$stamp" && "$(cat "$stamp")" == "$tags" ]]; then
	log "cached: $out"
	echo "$out"
	exit 0
fi
mkdir -p "$cache"

source "$root/scripts/goenv.sh"
export GOFLAGS="-mod=mod -buildvcs=false"

start=$(date +%s)
log "downloading github.com/influxdata/telegraf@$version"
dir=$(cd "$cache" && go mod download -json "github.com/influxdata/telegraf@$version" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[[ -n "$dir" && -d "$dir" ]] || {
	log "go mod download did not report a directory"
	exit 1
}

# The module cache is read-only and -mod=mod may rewrite go.mod/go.sum, so
# build from a writable copy (sources only, tens of MB).
work=$(mktemp -d "$cache/telegraf-src.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp -r "$dir/." "$work/"
chmod -R u+w "$work"

if ((with_iperfmon)); then
	(cd "$work" && go mod edit \
		-require=github.com/iperfmon/iperfmon@v0.0.0-00010101000000-000000000000 \
		-replace=github.com/iperfmon/iperfmon="$root")
	cat >"$work/cmd/telegraf/iperfmon_plugin.go" <<'EOF'
package main

// Registers [[inputs.iperf3]] from the iperfmon repository (added by
// iperfmon's scripts/build-telegraf.sh --with-iperfmon).
import _ "github.com/iperfmon/iperfmon/plugins/inputs/iperf3"
EOF
fi

log "building $(basename "$out") with tags $tags (a few minutes on 2 cores when nothing is cached)"
(cd "$work" && CGO_ENABLED=0 go build -tags "$tags" -trimpath \
	-ldflags "-s -w -X github.com/influxdata/telegraf/internal.Version=${version#v}" \
	-o "$out.tmp" ./cmd/telegraf)
mv -f "$out.tmp" "$out"
echo "$tags" >"$stamp"

# Keep only the newest plugin build: each source change makes a new one.
if ((with_iperfmon)); then
	find "$cache" -maxdepth 1 -name "telegraf-$version-iperfmon-*" -not -name "$(basename "$out")*" -delete
fi
log "built $out in $(($(date +%s) - start))s"
echo "$out"
