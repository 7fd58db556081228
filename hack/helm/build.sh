#!/usr/bin/env bash
# Prints the path of a helm binary for the chart tests, building it once if needed.
#
# helm is built from its Go module (version pinned in go.mod beside this script) through the Go
# module proxy, once, into a cache outside git keyed by version; later calls only print the path.
# HELM_BIN, when set to an executable, wins and nothing is built. Progress goes to stderr so that
# callers can capture stdout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib.sh
source "$here/../lib.sh"

if [ -n "${HELM_BIN:-}" ]; then
  [ -x "$HELM_BIN" ] || { echo "HELM_BIN=$HELM_BIN is not executable" >&2; exit 1; }
  echo "$HELM_BIN"
  exit 0
fi

helm_version="$(go_mod_version helm.sh/helm/v3 "$here/go.mod")"
client_go_version="$(go_mod_version k8s.io/client-go "$here/go.mod")"
[ -n "$helm_version" ] || { echo "no helm.sh/helm/v3 version in $here/go.mod" >&2; exit 1; }
out="$cache_root/helm/$helm_version"

if [ -x "$out/helm" ]; then
  echo "$out/helm"
  exit 0
fi

command -v go >/dev/null || { echo "go is needed to build helm (or set HELM_BIN)" >&2; exit 1; }
echo "building helm $helm_version into $out (once; a minute or two)" >&2

start_scratch helm

# The same ldflags helm's own Makefile sets: its version, and the Kubernetes version that
# `helm lint` and `.Capabilities` assume without a cluster (the client-go minor it was built with).
k8s_minor="${client_go_version#v0.}"; k8s_minor="${k8s_minor%%.*}"
ldflags="-s -w"
ldflags+=" -X helm.sh/helm/v3/internal/version.version=$helm_version"
ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s_minor"
done

cd "$here"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false} -mod=mod"
go build -trimpath -ldflags "$ldflags" -o "$tmp/helm" helm.sh/helm/v3/cmd/helm

"$tmp/helm" version --short >&2
finish_scratch "$out"
echo "$out/helm"
