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
# shellcheck source=../lib.sh
source "$here/../lib.sh"
module=github.com/argoproj/argo-cd/v2

argocd_version="$(go_mod_version "$module" "$here/go.mod")"
[ -n "$argocd_version" ] || { echo "no $module version in $here/go.mod" >&2; exit 1; }

if [ -n "${ARGOCD_BIN:-}" ]; then
  [ -x "$ARGOCD_BIN" ] || { echo "ARGOCD_BIN=$ARGOCD_BIN is not executable" >&2; exit 1; }
  echo "$ARGOCD_BIN"
  exit 0
fi

out="$cache_root/argocd/$argocd_version"

if [ -x "$out/argocd" ] && [ -d "$out/crds" ]; then
  echo "$out/argocd"
  exit 0
fi

command -v go >/dev/null || { echo "go is needed to build Argo CD (or set ARGOCD_BIN)" >&2; exit 1; }
echo "building Argo CD $argocd_version into $out (once; about 8 minutes cold)" >&2

start_scratch argocd

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
finish_scratch "$out"
echo "$out/argocd"
