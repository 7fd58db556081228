#!/usr/bin/env bash
# A CI step against the DataTrails emulator, from the operator's npm tarball and nothing else:
# install it into an empty directory, start the emulator on a free port, take a token with the
# seeded admin credentials, list the seeded assets, stop the emulator.
#
#   bash examples/ci/emulator.sh ./datatrails-operator-0.1.0.tgz
#
# (`npm pack` in a checkout makes the tarball.) Replace the curl calls with your own tests; point
# them at $url and the credentials read from the emulator's start-up line.
set -euo pipefail

tarball="$(realpath "${1:?usage: emulator.sh <datatrails-operator-x.y.z.tgz>}")"
work="$(mktemp -d)"
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error "$tarball"

# The bin itself, not npx: npx runs it under `sh -c`, and a kill of npx's pid would leave the
# emulator running.
./node_modules/.bin/datatrails-operator emulator --seed-assets --port 0 --json >emulator.json &
emulator=$!
trap 'kill "$emulator" 2>/dev/null || true; wait "$emulator" 2>/dev/null || true; rm -rf "$work"' EXIT

# One JSON line once it listens: url, tokenUrl, clientId, clientSecret, adminApi.
for _ in $(seq 1 300); do
  [ -s emulator.json ] && break
  kill -0 "$emulator" 2>/dev/null || { echo "the emulator exited before listening" >&2; exit 1; }
  sleep 0.1
done
field() { node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(0, "utf8"))[process.argv[1]]))' "$1" <emulator.json; }
url="$(field url)"

token="$(curl -fsS "$(field tokenUrl)" \
  --data-urlencode grant_type=client_credentials \
  --data-urlencode "client_id=$(field clientId)" \
  --data-urlencode "client_secret=$(field clientSecret)" |
  node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).access_token)')"

curl -fsS -H "authorization: Bearer $token" "$url/archivist/v2/assets?page_size=50" |
  node -e 'const { assets } = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(`${assets.length} assets`)'
