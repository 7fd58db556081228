#!/usr/bin/env bash
# Prints the directory that holds kubelet, kube-proxy, kube-controller-manager and kube-scheduler
# for the tests' node: the same pinned k8s.io/kubernetes as the control plane's kube-apiserver
# (hack/controlplane/go.mod; go.mod beside this script pins the same version, and the script
# refuses to build when they differ). Built once through the Go module proxy into a cache outside
# git keyed by version; later calls only print the cached directory. Progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
binaries=(kubelet kube-proxy kube-controller-manager kube-scheduler)

module_version() { awk -v m="$1" '{ for (i = 1; i < NF; i++) if ($i == m) { print $(i + 1); exit } }' "$2"; }
k8s_version="$(module_version k8s.io/kubernetes "$here/go.mod")"
plane_version="$(module_version k8s.io/kubernetes "$here/../controlplane/go.mod")"
if [ "$k8s_version" != "$plane_version" ]; then
  echo "hack/node/go.mod pins k8s.io/kubernetes $k8s_version, hack/controlplane/go.mod $plane_version: pin the same" >&2
  exit 1
fi
cache_root="${DATATRAILS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/datatrails-operator}"
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
mkdir -p "$cache_root/node"
tmp="$(mktemp -d "$cache_root/node/.build.XXXXXX")"
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
for b in "${binaries[@]}"; do
  go build -trimpath -ldflags "$ldflags" -o "$tmp/$b" "k8s.io/kubernetes/cmd/$b"
done

"$tmp/kubelet" --version >&2
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "$out"
