#!/usr/bin/env bash
# Prints the directory that holds etcd, kube-apiserver and kubectl for the tests' control plane.
#
# KUBEBUILDER_ASSETS (the envtest convention) wins when set. Otherwise the binaries are built from
# their Go modules (versions pinned in go.mod beside this script) through the Go module proxy,
# once, into a cache outside git keyed by version; later calls only print the cached directory.
# Progress goes to stderr so that callers can capture stdout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib.sh
source "$here/../lib.sh"
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

k8s_version="$(go_mod_version k8s.io/kubernetes "$here/go.mod")"
etcd_version="$(go_mod_version go.etcd.io/etcd/server/v3 "$here/go.mod")"
out="$cache_root/controlplane/k8s-$k8s_version-etcd-$etcd_version"

if has_all "$out"; then
  echo "$out"
  exit 0
fi

command -v go >/dev/null || { echo "go is needed to build the control plane (or set KUBEBUILDER_ASSETS)" >&2; exit 1; }
echo "building kube-apiserver $k8s_version, kubectl $k8s_version and etcd $etcd_version into $out (once; a few minutes)" >&2

start_scratch controlplane

ldflags="$(k8s_ldflags "$k8s_version")"

cd "$here"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false} -mod=mod"
go build -trimpath -ldflags "$ldflags" -o "$tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
go build -trimpath -ldflags "$ldflags" -o "$tmp/kubectl" k8s.io/kubernetes/cmd/kubectl
go build -trimpath -ldflags "-s -w" -o "$tmp/etcd" ./etcd

"$tmp/kube-apiserver" --version >&2
"$tmp/etcd" --version | sed -n 1p >&2
finish_scratch "$out"
echo "$out"
