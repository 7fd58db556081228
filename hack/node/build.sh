#!/usr/bin/env bash
# Prints the directory that holds kubelet, kube-proxy, kube-controller-manager and kube-scheduler
# for the tests' node: the same pinned k8s.io/kubernetes as the control plane's kube-apiserver
# (hack/controlplane/go.mod; go.mod beside this script pins the same version, and the script
# refuses to build when they differ). Built once through the Go module proxy into a cache outside
# git keyed by version; later calls only print the cached directory. Progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib.sh
source "$here/../lib.sh"
binaries=(kubelet kube-proxy kube-controller-manager kube-scheduler)

k8s_version="$(go_mod_version k8s.io/kubernetes "$here/go.mod")"
plane_version="$(go_mod_version k8s.io/kubernetes "$here/../controlplane/go.mod")"
if [ "$k8s_version" != "$plane_version" ]; then
  echo "hack/node/go.mod pins k8s.io/kubernetes $k8s_version, hack/controlplane/go.mod $plane_version: pin the same" >&2
  exit 1
fi
out="$cache_root/node/k8s-$k8s_version"

has_all() {
  local b
  for b in "${binaries[@]}"; do [ -x "$out/$b" ] || return 1; done
}
if has_all; then
  echo "$out"
  exit 0
fi

command -v go >/dev/null || { echo "go is needed to build the node's binaries" >&2; exit 1; }
echo "building ${binaries[*]} $k8s_version into $out (once; several minutes)" >&2
start_scratch node

ldflags="$(k8s_ldflags "$k8s_version")"

cd "$here"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false} -mod=mod"
for b in "${binaries[@]}"; do
  go build -trimpath -ldflags "$ldflags" -o "$tmp/$b" "k8s.io/kubernetes/cmd/$b"
done

"$tmp/kubelet" --version >&2
finish_scratch "$out"
echo "$out"
