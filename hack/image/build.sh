#!/usr/bin/env bash
# Builds the operator's image from the Dockerfile with podman (buildah underneath), on the local
# stand-in for the public base image (hack/image/base.sh), and prints the image's name.
#
# IMAGE names the result (default localhost/datatrails-operator:dev). The Dockerfile is the one
# Docker users build; only the base differs (its NODE_IMAGE build ARG). `npm ci` runs inside the
# build against the npm registry. Where this machine reaches the registry through a TLS proxy whose
# CA only the host trusts (NODE_EXTRA_CA_CERTS or npm's cafile), that CA bundle and an npmrc naming
# it are bind-mounted into the build's RUN steps (podman build -v): they are in no layer of the image.
# Without either, the host's system bundle (/etc/ssl/certs/ca-certificates.crt) is mounted the same way.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
image="${IMAGE:-localhost/datatrails-operator:dev}"
command -v podman >/dev/null || { echo "podman is needed to build the image (Debian: apt-get install -y podman buildah)" >&2; exit 1; }

# One build at a time per machine (test files may ask for the image at once): the second finds the
# base and the layers made by the first.
cache_root="${DATATRAILS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/datatrails-operator}"
mkdir -p "$cache_root/images"
# Children get no copy of the lock's descriptor (9>&-), so nothing they leave running can hold it.
exec 9>"$cache_root/images/.build.lock"
flock 9

base="$(bash "$here/base.sh" 9>&-)"
# Rootful podman in a container: runc cannot raise the default rlimits here ("error setting rlimit type 7").
args=(--build-arg "NODE_IMAGE=$base" --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --layers -t "$image" -f "$root/Dockerfile")

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
ca="${NODE_EXTRA_CA_CERTS:-}"
if [ -z "$ca" ] && command -v npm >/dev/null; then ca="$(npm config get cafile 2>/dev/null || true)"; fi
# Else the host's system bundle, which holds the public CAs and any the machine added.
if [ -z "$ca" ] || [ "$ca" = null ] || [ "$ca" = undefined ]; then ca=/etc/ssl/certs/ca-certificates.crt; fi
if [ -n "$ca" ] && [ "$ca" != null ] && [ "$ca" != undefined ] && [ -f "$ca" ]; then
  printf 'cafile=/run/host-ca/ca-certificates.crt\n' >"$tmp/npmrc"
  args+=(-v "$ca:/run/host-ca/ca-certificates.crt:ro" -v "$tmp/npmrc:/usr/local/etc/npmrc:ro")
fi

echo "building $image on $base" >&2
# The build's own output only when it fails (or with VERBOSE=1): `make test` stays readable.
if [ "${VERBOSE:-0}" = 1 ]; then
  podman build "${args[@]}" "$root" >&2 9>&-
elif ! podman build "${args[@]}" "$root" >"$tmp/build.log" 2>&1 9>&-; then
  tail -40 "$tmp/build.log" >&2
  echo "podman build failed (VERBOSE=1 shows all of its output)" >&2
  exit 1
fi
echo "$image"
