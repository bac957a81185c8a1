#!/usr/bin/env bash
# Builds a stock Telegraf with only the plugins the end-to-end tests need and
# caches it per version. Prints the binary's path on stdout (logs on stderr).
#
# Telegraf is built from its own module in the Go module cache, as its own
# main module, so telegraf's cmd never enters iperfmon's go.mod.
#
#   TELEGRAF_VERSION   default v1.37.2
#   TELEGRAF_TAGS      build tags (default: execd, exec, influxdb and file outputs, influx parser/serializer)
#   IPERFMON_CACHE     cache dir (default ${XDG_CACHE_HOME:-$HOME/.cache}/iperfmon)
set -euo pipefail

version="${TELEGRAF_VERSION:-v1.37.2}"
tags="${TELEGRAF_TAGS:-custom,inputs.execd,inputs.exec,outputs.influxdb,outputs.file,parsers.influx,serializers.influx}"
cache="${IPERFMON_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iperfmon}"
out="$cache/telegraf-$version"
# The tags are part of the cache key: a different plugin set is a different binary.
stamp="$out.tags"

log() { echo "build-telegraf: $*" >&2; }

if [[ -x "$out" && -f "$stamp" && "$(cat "$stamp")" == "$tags" ]]; then
	log "cached: $out"
	echo "$out"
	exit 0
fi

command -v go >/dev/null || { log "go not found in PATH (expected /usr/local/go/bin)"; exit 1; }
mkdir -p "$cache"

# telegraf's go.sum pins these, but the checksum database cannot serve them.
export GONOSUMDB="${GONOSUMDB:-github.com/tdrn-org/go-tr064,github.com/SAP/go-hdb}"
export GOFLAGS="${GOFLAGS:-} -mod=mod -buildvcs=false"

start=$(date +%s)
log "downloading github.com/influxdata/telegraf@$version"
dir=$(cd "$cache" && GOFLAGS=-mod=mod go mod download -json "github.com/influxdata/telegraf@$version" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[[ -n "$dir" && -d "$dir" ]] || { log "go mod download did not report a directory"; exit 1; }

# The module cache is read-only and `go build -mod=mod` may want to touch go.mod/go.sum,
# so build from a writable copy (sources only; a few MB of tiny files).
work=$(mktemp -d "$cache/telegraf-src.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp -r "$dir/." "$work/"
chmod -R u+w "$work"

log "building $version with tags $tags (takes a few minutes on 2 cores)"
(cd "$work" && CGO_ENABLED=0 go build -tags "$tags" -trimpath \
	-ldflags "-s -w -X github.com/influxdata/telegraf/internal.Version=${version#v}" \
	-o "$out.tmp" ./cmd/telegraf)
mv -f "$out.tmp" "$out"
echo "$tags" >"$stamp"
log "built $out in $(($(date +%s) - start))s"
echo "$out"
