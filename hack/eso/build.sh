#!/usr/bin/env bash
# Prints the path of an External Secrets Operator binary for the peer benchmark (bench/peer.ts),
# building it once if needed.
#
# ESO is built from its Go module (version pinned in go.mod beside this script, which carries the
# same replace directive as ESO's own go.mod) through the Go module proxy, once, into a cache outside
# git keyed by version; later calls only print the path. ESO's CRDs are copied out of the downloaded
# module into the same directory (crds/). ESO_BIN, when set to an executable, wins and nothing is
# built; bench/peer.ts then reads the CRDs from ESO_CRDS (a directory) or from crds/ beside ESO_BIN.
# Progress goes to stderr so that callers can capture stdout. Not part of `make test` or CI: the
# build compiles all of ESO's providers and takes 10-30 minutes.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib.sh
source "$here/../lib.sh"
module=github.com/external-secrets/external-secrets

eso_version="$(go_mod_version "$module" "$here/go.mod")"
[ -n "$eso_version" ] || { echo "no $module version in $here/go.mod" >&2; exit 1; }

if [ -n "${ESO_BIN:-}" ]; then
  [ -x "$ESO_BIN" ] || { echo "ESO_BIN=$ESO_BIN is not executable" >&2; exit 1; }
  echo "$ESO_BIN"
  exit 0
fi

out="$cache_root/eso/$eso_version"

if [ -x "$out/external-secrets" ] && [ -d "$out/crds" ]; then
  echo "$out/external-secrets"
  exit 0
fi

command -v go >/dev/null || { echo "go is needed to build External Secrets Operator (or set ESO_BIN)" >&2; exit 1; }
echo "building External Secrets Operator $eso_version into $out (once; 10-30 minutes: all providers)" >&2

start_scratch eso

cd "$here"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false} -mod=mod"
module_dir="$(go mod download -json "$module@$eso_version" | awk -F'"' '$2 == "Dir" { print $4 }')"
[ -d "$module_dir/config/crds/bases" ] || { echo "no config/crds/bases in $module_dir" >&2; exit 1; }
mkdir "$tmp/crds"
# The CRDs as ESO ships them; kustomization.yaml is not a CRD.
for f in "$module_dir"/config/crds/bases/*.yaml; do
  [ "$(basename "$f")" = kustomization.yaml ] || cp "$f" "$tmp/crds/"
done
chmod u+w "$tmp"/crds/*.yaml

go build -trimpath -ldflags "-s -w" -o "$tmp/external-secrets" "$module"

# The binary prints no version; its help proves it runs.
"$tmp/external-secrets" --help >/dev/null
echo "built external-secrets $eso_version and copied $(ls "$tmp/crds" | wc -l) CRDs" >&2
finish_scratch "$out"
echo "$out/external-secrets"
