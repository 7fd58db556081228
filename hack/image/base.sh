#!/usr/bin/env bash
# Prints the name of a local stand-in for the Dockerfile's public base image
# (node:<version>-bookworm-slim), made here where no container registry is reachable.
#
# The same layout as the public image, from the same kinds of parts: a minimal Debian bookworm root
# file system from Debian's packages (debootstrap --variant=minbase, then trimmed the way
# debian:bookworm-slim is: no docs, man pages or locales), Node from the npm registry's platform
# package (node-linux-<arch>, the official binary; the version scripts/ensure-node.sh pins) in
# /usr/local/bin, npm in /usr/local/lib/node_modules/npm, and the user node (1000:1000).
# Not in it: yarn and the docker-entrypoint.sh wrapper (the operator's Dockerfile sets its own
# ENTRYPOINT). The root file system is cached as a tarball outside git, keyed by the versions, and
# imported into podman's storage when it is not there yet; later calls only print the name.
# Progress goes to stderr so that callers can capture stdout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
node_version="$(sed -nE 's/^pinned="([0-9.]+)"$/\1/p' "$root/scripts/ensure-node.sh")"
npm_version="${NPM_VERSION:-11.19.1}"
suite=bookworm
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
name="localhost/node:$node_version-$suite-slim"
cache_root="${DATATRAILS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/datatrails-operator}"
out="$cache_root/images/node-$node_version-npm-$npm_version-$suite-slim"

case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "no Node package for $(uname -m)" >&2; exit 1 ;;
esac

if podman image exists "$name" 2>/dev/null; then
  echo "$name"
  exit 0
fi

if [ ! -f "$out/rootfs.tar" ]; then
  for tool in debootstrap npm podman; do
    command -v "$tool" >/dev/null || { echo "$tool is needed to make the base image $name (Debian: apt-get install -y debootstrap podman)" >&2; exit 1; }
  done
  [ "$(id -u)" = 0 ] || { echo "debootstrap needs root to make the base image $name" >&2; exit 1; }
  echo "making $name from Debian $suite packages and node-linux-$arch@$node_version into $out (once; a few minutes)" >&2
  mkdir -p "$cache_root/images"
  tmp="$(mktemp -d "$cache_root/images/.build.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  rootfs="$tmp/rootfs"

  debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$tmp/debootstrap.log" 2>&1 ||
    { tail -20 "$tmp/debootstrap.log" >&2; exit 1; }

  # Node and npm from the npm registry, as the public image has them.
  (cd "$tmp" && npm pack --silent "node-linux-$arch@$node_version" "npm@$npm_version" >/dev/null)
  mkdir -p "$tmp/node" "$rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$tmp/node-linux-$arch-$node_version.tgz" -C "$tmp/node"
  install -m 0755 "$tmp/node/package/bin/node" "$rootfs/usr/local/bin/node"
  tar -xzf "$tmp/npm-$npm_version.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  chown -R 0:0 "$rootfs/usr/local"

  chroot "$rootfs" /bin/sh -euc '
    groupadd --gid 1000 node
    useradd --uid 1000 --gid node --shell /bin/bash --create-home node
    apt-get clean
  '
  # What debian:bookworm-slim leaves out (its dpkg path-excludes), and what the build left behind.
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* \
    "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/log/* "$rootfs"/tmp/* \
    "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/lib/dpkg/*-old
  chroot "$rootfs" /usr/local/bin/node --version >/dev/null
  chroot "$rootfs" /usr/local/bin/node /usr/local/lib/node_modules/npm/bin/npm-cli.js --version >/dev/null

  tar --numeric-owner --xattrs -C "$rootfs" -cf "$tmp/rootfs.tar" .
  rm -rf "$out"
  mkdir -p "$out"
  mv "$tmp/rootfs.tar" "$out/rootfs.tar"
  rm -rf "$tmp"
  trap - EXIT
fi

podman import --quiet \
  --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV NODE_VERSION=$node_version" \
  --change 'CMD ["node"]' \
  "$out/rootfs.tar" "$name" >/dev/null
echo "$name"
