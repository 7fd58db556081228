#!/usr/bin/env bash
# Prints the directory that holds etcd, kube-apiserver and kubectl for the tests' control plane.
#
# KUBEBUILDER_ASSETS (the envtest convention) wins when set. Otherwise the binaries are built from
# their Go modules (versions pinned in go.mod beside this script) through the Go module proxy,
# once, into a cache outside git keyed by version; later calls only print the cached directory.
# Progress goes to stderr so that callers can capture stdout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
binaries=(etcd kube-apiserver kubectl)

has_all() {
  local dir="$1" b
  for b in "${binaries[@]}"; do [ -x "$dir/$b" ] || return 1; done
}

if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  if ! has_all "$KUBEBUILDER_ASSETS"; then
    for b in etcd kube-apiserver; do
      [ -x "$KUBEBUILDER_ASSETS/$b" ] || { echo "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no executable $b" >&2; exit 1; }
    done
  fi
  echo "$KUBEBUILDER_ASSETS"
  exit 0
fi

module_version() { awk -v m="$1" '{ for (i = 1; i < NF; i++) if ($i == m) { print $(i + 1); exit } }' "$here/go.mod"; }
k8s_version="$(module_version k8s.io/kubernetes)"
etcd_version="$(module_version go.etcd.io/etcd/server/v3)"
cache_root="${DATATRAILS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/datatrails-operator}"
out="$cache_root/controlplane/k8s-$k8s_version-etcd-$etcd_version"

if has_all "$out"; then
  echo "$out"
  exit 0
fi

command -v go >/dev/null || { echo "go is needed to build the control plane (or set KUBEBUILDER_ASSETS)" >&2; exit 1; }
echo "building kube-apiserver $k8s_version, kubectl $k8s_version and etcd $etcd_version into $out (once; a few minutes)" >&2

# Build into a scratch directory and rename, so an interrupted build never looks complete.
mkdir -p "$cache_root/controlplane"
tmp="$(mktemp -d "$cache_root/controlplane/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

minor="${k8s_version#v1.}"; minor="${minor%%.*}"
build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done

cd "$here"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false} -mod=mod"
go build -trimpath -ldflags "$ldflags" -o "$tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
go build -trimpath -ldflags "$ldflags" -o "$tmp/kubectl" k8s.io/kubernetes/cmd/kubectl
go build -trimpath -ldflags "-s -w" -o "$tmp/etcd" ./etcd

"$tmp/kube-apiserver" --version >&2
"$tmp/etcd" --version | sed -n 1p >&2
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "$out"
