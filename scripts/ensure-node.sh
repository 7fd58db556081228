#!/usr/bin/env bash
# Prints a directory to put first on PATH so that `node` is version 22 or newer.
#
# A machine whose node is already >= 22 uses it as it is (nothing is printed but its own bin
# directory). An older or missing node gets Node 24 from the npm registry's platform package
# (node-<os>-<arch>, which ships the official binary) in the project-local .tools/ folder.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
want_major=22
pinned="24.21.0"

major_of() { "$1" --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/'; }

if command -v node >/dev/null 2>&1; then
  have="$(major_of node || true)"
  if [ -n "$have" ] && [ "$have" -ge "$want_major" ]; then
    dirname "$(command -v node)"
    exit 0
  fi
fi

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) echo "no Node package for $(uname -s); install Node >= $want_major yourself" >&2; exit 1 ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "no Node package for $(uname -m); install Node >= $want_major yourself" >&2; exit 1 ;;
esac

pkg="node-$os-$arch"
dir="$root/.tools/node-$pinned"
bin="$dir/node_modules/$pkg/bin"
if [ ! -x "$bin/node" ]; then
  command -v npm >/dev/null || { echo "npm is needed to fetch Node $pinned (or install Node >= $want_major)" >&2; exit 1; }
  echo "fetching Node $pinned ($pkg) into $dir" >&2
  mkdir -p "$dir"
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$dir" "$pkg@$pinned" >&2
fi
"$bin/node" --version >/dev/null
echo "$bin"
