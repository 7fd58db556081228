# Sourced by the hack/*/build.sh scripts: the pinned version of a module in a go.mod, the cache
# outside git, and a build made in a scratch directory and renamed into place at the end, so that
# an interrupted build never looks complete.

# Where built tools are kept, keyed by version by each script.
cache_root="${DATATRAILS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/datatrails-operator}"

# go_mod_version <module> <go.mod>: the version <go.mod> requires of <module> (a require line or a
# line of a require block).
go_mod_version() { awk -v m="$1" '{ for (i = 1; i < NF; i++) if ($i == m) { print $(i + 1); exit } }' "$2"; }

# start_scratch <kind>: sets $tmp to a new scratch directory under $cache_root/<kind>, removed when
# the script exits unless finish_scratch has moved it into place.
start_scratch() {
  mkdir -p "$cache_root/$1"
  tmp="$(mktemp -d "$cache_root/$1/.build.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
}

# finish_scratch <out>: puts the finished scratch directory where <out> was.
finish_scratch() {
  rm -rf "$1"
  mv "$tmp" "$1"
  trap - EXIT
}

# k8s_ldflags <version>: the linker flags that stamp a Kubernetes binary built from its module with
# <version>, as Kubernetes' own build does (its --version and the API server's /version).
k8s_ldflags() {
  local minor="${1#v1.}" build_date pkg flags="-s -w"
  minor="${minor%%.*}"
  build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$1 -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
  done
  echo "$flags"
}
