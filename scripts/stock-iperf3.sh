#!/usr/bin/env bash
# Fetches stock iperf3 from a newer Debian suite without installing it, and
# prints the path of a wrapper that runs it:
#
#   bash scripts/stock-iperf3.sh sid       # iperf3 3.22 (one thread per stream, --gsro, ...)
#   bash scripts/stock-iperf3.sh trixie    # iperf3 3.18
#   bash scripts/stock-iperf3.sh bookworm  # the installed /usr/bin/iperf3 (3.12)
#
# trixie's and sid's builds need a newer glibc than bookworm's, so the
# packages (iperf3, libiperf0, libc6, libssl3t64, libsctp1) are downloaded with
# a private apt state, unpacked with dpkg -x, and run through their own
# dynamic loader. Nothing is installed on the system. The result is cached
# under ${XDG_CACHE_HOME:-~/.cache}/iperfmon/iperf3-SUITE; a wrapper that
# still runs is reused. Uses the mirror apt already uses, so it works wherever
# apt does. Exit status 1 (and a message on stderr) when the packages cannot
# be fetched; the tests then skip the version, saying so.
set -euo pipefail

suite=${1:?usage: stock-iperf3.sh sid|trixie|bookworm}
log() { echo "stock-iperf3: $*" >&2; }

if [[ $suite == bookworm ]]; then
	command -v iperf3 || {
		log "iperf3 is not installed (apt-get install iperf3)"
		exit 1
	}
	exit 0
fi
case $suite in
sid | trixie | forky | unstable | testing) ;;
*)
	log "unknown suite $suite; allowed: sid, trixie, bookworm"
	exit 2
	;;
esac

dir=${XDG_CACHE_HOME:-$HOME/.cache}/iperfmon/iperf3-$suite
wrapper=$dir/iperf3
if [[ -x $wrapper ]] && "$wrapper" --version >/dev/null 2>&1; then
	echo "$wrapper"
	exit 0
fi

arch=$(dpkg --print-architecture)
case $arch in
amd64) triplet=x86_64-linux-gnu loader=ld-linux-x86-64.so.2 ;;
arm64) triplet=aarch64-linux-gnu loader=ld-linux-aarch64.so.1 ;;
*)
	log "no recipe for architecture $arch"
	exit 1
	;;
esac

uri=""
for f in /etc/apt/sources.list.d/debian.sources; do
	[[ -r $f ]] && uri=$(awk '/^URIs:/ {print $2; exit}' "$f")
done
if [[ -z $uri && -r /etc/apt/sources.list ]]; then
	uri=$(awk '$1 == "deb" && $2 !~ /^\[/ {print $2; exit} $1 == "deb" && $2 ~ /^\[/ {print $3; exit}' /etc/apt/sources.list)
fi
if [[ -z $uri ]]; then
	log "cannot find apt's Debian mirror in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
	exit 1
fi

rm -rf "$dir"
mkdir -p "$dir/lists/partial" "$dir/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main" >"$dir/sources.list"
apt_opts=(-q -o "Dir::Etc::SourceList=$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache" -o Debug::NoLocking=1)
mkdir -p "$dir/cache/archives/partial"
if ! apt-get "${apt_opts[@]}" update >"$dir/apt.log" 2>&1; then
	log "apt-get update for $suite failed (see $dir/apt.log)"
	exit 1
fi
pkgs=(iperf3 libiperf0 libc6 libssl3t64 libsctp1)
if ! (cd "$dir/debs" && apt-get "${apt_opts[@]}" download "${pkgs[@]/%//$suite}") >>"$dir/apt.log" 2>&1; then
	log "apt-get download of ${pkgs[*]} from $suite failed (see $dir/apt.log)"
	exit 1
fi
for f in "$dir"/debs/*.deb; do
	dpkg -x "$f" "$dir/root"
done
lib=$dir/root/usr/lib/$triplet
cat >"$wrapper" <<EOS
#!/bin/sh
# stock iperf3 from Debian $suite, run through its own loader (see scripts/stock-iperf3.sh)
exec $lib/$loader --library-path $lib $dir/root/usr/bin/iperf3 "\$@"
EOS
chmod +x "$wrapper"
rm -rf "$dir/debs" "$dir/cache" "$dir/lists"
if ! "$wrapper" --version >/dev/null 2>&1; then
	log "the unpacked iperf3 from $suite does not run: $("$wrapper" --version 2>&1 | head -1)"
	exit 1
fi
log "$("$wrapper" --version 2>&1 | head -1)"
echo "$wrapper"
