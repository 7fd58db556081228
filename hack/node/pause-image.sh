#!/usr/bin/env bash
# Prints the path of an image archive (docker-archive) holding the node's sandbox image,
# localhost/datatrails-pause:<hash>, made once from pause/main.go (built with Go, static) with
# buildah on an empty base, and cached outside git keyed by the source's hash. The image's name is
# on the second line. Progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
hash="$(cat "$here/pause/main.go" "$here/go.mod" | sha256sum | cut -c1-12)"
name="localhost/datatrails-pause:$hash"
cache_root="${DATATRAILS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/datatrails-operator}"
out="$cache_root/node/pause-$hash"

if [ ! -f "$out/pause.tar" ]; then
  for tool in go buildah podman; do
    command -v "$tool" >/dev/null || { echo "$tool is needed to make the pause image" >&2; exit 1; }
  done
  echo "making $name into $out" >&2
  mkdir -p "$cache_root/node"
  tmp="$(mktemp -d "$cache_root/node/.pause.XXXXXX")"
  ctr=""
  trap '[ -z "$ctr" ] || buildah rm "$ctr" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
  (cd "$here" && CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=mod" go build -trimpath -ldflags "-s -w" -o "$tmp/pause" ./pause)
  ctr="$(buildah from scratch)"
  buildah copy --quiet "$ctr" "$tmp/pause" /pause >/dev/null
  buildah config --entrypoint '["/pause"]' --cmd '' --user 65535:65535 "$ctr"
  buildah commit --quiet "$ctr" "$name" >/dev/null
  podman save --quiet --format docker-archive -o "$tmp/pause.tar" "$name"
  rm -rf "$out"
  mkdir -p "$out"
  mv "$tmp/pause.tar" "$out/pause.tar"
fi
echo "$out/pause.tar"
echo "$name"
