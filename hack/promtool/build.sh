#!/usr/bin/env bash
# Prints the path of a promtool binary for the chart's alert tests, building it once if needed.
#
# promtool is built from the Prometheus Go module (version pinned in go.mod beside this script)
# through the Go module proxy, once, into a cache outside git keyed by version; later calls only
# print the path. PROMTOOL_BIN, when set to an executable, wins and nothing is built. Progress goes
# to stderr so that callers can capture stdout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib.sh
source "$here/../lib.sh"

if [ -n "${PROMTOOL_BIN:-}" ]; then
  [ -x "$PROMTOOL_BIN" ] || { echo "PROMTOOL_BIN=$PROMTOOL_BIN is not executable" >&2; exit 1; }
  echo "$PROMTOOL_BIN"
  exit 0
fi

prometheus_version="$(go_mod_version github.com/prometheus/prometheus "$here/go.mod")"
[ -n "$prometheus_version" ] || { echo "no github.com/prometheus/prometheus version in $here/go.mod" >&2; exit 1; }
out="$cache_root/promtool/$prometheus_version"

if [ -x "$out/promtool" ]; then
  echo "$out/promtool"
  exit 0
fi

command -v go >/dev/null || { echo "go is needed to build promtool (or set PROMTOOL_BIN)" >&2; exit 1; }
echo "building promtool $prometheus_version into $out (once; a few minutes)" >&2

start_scratch promtool

# Prometheus's module versions v0.3MM.P are its releases 3.MM.P; promtool prints that version.
minor="${prometheus_version#v0.3}"; minor="${minor%%.*}"; patch="${prometheus_version##*.}"
release="3.$((10#$minor)).$patch"
ldflags="-s -w -X github.com/prometheus/common/version.Version=$release"
ldflags+=" -X github.com/prometheus/common/version.Branch=release"

cd "$here"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false} -mod=mod"
go build -trimpath -ldflags "$ldflags" -o "$tmp/promtool" github.com/prometheus/prometheus/cmd/promtool

"$tmp/promtool" --version >&2
finish_scratch "$out"
echo "$out/promtool"
