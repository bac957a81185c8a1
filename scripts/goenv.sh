# Sourced by the scripts and .ci/run: the Go environment every step needs.
#
# Go from /usr/local/go when PATH lacks it; two of Telegraf's dependencies
# are not in the checksum database (go.sum pins them).
if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
	export PATH="/usr/local/go/bin:$PATH"
fi
export GONOSUMDB="${GONOSUMDB:-github.com/tdrn-org/go-tr064,github.com/SAP/go-hdb}"
