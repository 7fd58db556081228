#!/usr/bin/env bash
# Prints the path of an Argo CD binary for the tests that sync our objects with a real Argo CD
# (test/argocd/real-*.test.ts), building it once if needed.
#
# Argo CD is built from its Go module (version pinned in go.mod beside this script, which repeats the
# replace directives of Argo CD's own go.mod) through the Go module proxy, once, into a cache outside
# git keyed by version; later calls only print the path. main.go beside this script makes one binary
# that runs the application controller, the repo server or the API server (`argocd <component>`).
# Argo CD's CRDs (Application, ApplicationSet, AppProject) are copied out of the downloaded module into crds/ beside
# the binary. ARGOCD_BIN, when set to an executable built from this directory, wins and nothing is
# built; the tests then read the CRDs from crds/ beside it. Progress goes to stderr so that callers
# can capture stdout. The cold build took 7 min 39 s on two shared cores (empty Go caches; README.md).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
module=github.com/argoproj/argo-cd/v2

module_version() { awk -v m="$1" '$1 == "require" && $2 == m { print $3; exit } $1 == m { print $2; exit }' "$here/go.mod"; }
argocd_version="$(module_version "$module")"
[ -n "$argocd_version" ] || { echo "no $module version in $here/go.mod" >&2; exit 1; }

if [ -n "${ARGOCD_BIN:-}" ]; then
  [ -x "$ARGOCD_BIN" ] || { echo "ARGOCD_BIN=$ARGOCD_BIN is not executable" >&2; exit 1; }
  echo "$ARGOCD_BIN"
  exit 0
fi

cache_root="${DATATRAILS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/datatrails-operator}"
out="$cache_root/argocd/$argocd_version"

if [ -x "$out/argocd" ] && [ -d "$out/crds" ]; then
  echo "$out/argocd"
  exit 0
fi

command -v go >/dev/null || { echo "go is needed to build Argo CD (or set ARGOCD_BIN)" >&2; exit 1; }
echo "building Argo CD $argocd_version into $out (once; about 8 minutes cold)" >&2

# Build into a scratch directory and rename, so an interrupted build never looks complete.
mkdir -p "$cache_root/argocd"
tmp="$(mktemp -d "$cache_root/argocd/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

cd "$here"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false} -mod=mod"
module_dir="$(go mod download -json "$module@$argocd_version" | awk -F'"' '$2 == "Dir" { print $4 }')"
mkdir "$tmp/crds"
for crd in application applicationset appproject; do
  [ -f "$module_dir/manifests/crds/$crd-crd.yaml" ] || { echo "no manifests/crds/$crd-crd.yaml in $module_dir" >&2; exit 1; }
  cp "$module_dir/manifests/crds/$crd-crd.yaml" "$tmp/crds/"
done
chmod u+w "$tmp"/crds/*.yaml

start=$SECONDS
go build -trimpath -ldflags "-s -w" -o "$tmp/argocd" .

# Each component's help proves the binary runs.
for component in application-controller repo-server server; do
  "$tmp/argocd" "$component" --help >/dev/null
done
echo "built Argo CD $argocd_version in $((SECONDS - start)) s" >&2
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "$out/argocd"
