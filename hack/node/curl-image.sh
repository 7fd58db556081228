#!/usr/bin/env bash
# Prints the path of an image archive (docker-archive) standing in for the image
# examples/workload.yaml names (curlimages/curl:8.17.0), which a machine without a registry cannot
# pull: this machine's own curl, sh and sleep with the shared libraries they load, on an empty base,
# tagged with that name so the example's Deployment runs unchanged (IfNotPresent finds it). Made once
# with buildah and cached outside git, keyed by the binaries' hash. The image's name is on the second
# line. Progress goes to stderr.
set -euo pipefail

name="docker.io/curlimages/curl:8.17.0"
bins=(/usr/bin/curl /bin/sh /bin/sleep)
for bin in "${bins[@]}"; do
  [ -x "$bin" ] || { echo "$bin is needed to make the stand-in curl image" >&2; exit 1; }
done
hash="$(cat "${bins[@]}" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-12)"
cache_root="${DATATRAILS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/datatrails-operator}"
out="$cache_root/node/curl-$hash"

if [ ! -f "$out/curl.tar" ]; then
  for tool in buildah podman ldd; do
    command -v "$tool" >/dev/null || { echo "$tool is needed to make the stand-in curl image" >&2; exit 1; }
  done
  echo "making $name into $out" >&2
  mkdir -p "$cache_root/node"
  tmp="$(mktemp -d "$cache_root/node/.curl.XXXXXX")"
  ctr=""
  trap '[ -z "$ctr" ] || buildah rm "$ctr" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/root/tmp"
  for file in "${bins[@]}" $(for bin in "${bins[@]}"; do ldd "$bin"; done | grep -o '/[^ ]*' | sort -u); do
    real="$(readlink -f "$file")"
    mkdir -p "$tmp/root$(dirname "$file")"
    cp "$real" "$tmp/root$file"
  done
  ctr="$(buildah from scratch)"
  buildah copy --quiet "$ctr" "$tmp/root" / >/dev/null
  buildah config --entrypoint '["/usr/bin/curl"]' --cmd '' --user 100:101 "$ctr"
  buildah commit --quiet "$ctr" "$name" >/dev/null
  podman save --quiet --format docker-archive -o "$tmp/curl.tar" "$name"
  rm -rf "$out"
  mkdir -p "$out"
  mv "$tmp/curl.tar" "$out/curl.tar"
fi
echo "$out/curl.tar"
echo "$name"
