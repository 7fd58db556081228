#!/usr/bin/env bash
# How users refresh a DataTrails token today, as a CronJob would run it: per refresh, curl the token
# endpoint, jq the access_token, and write it with kubectl create secret --dry-run=client -o yaml |
# kubectl apply. Run by bench/versus.ts, which measures its CPU time and wall time.
#
# Environment: URL (DataTrails base URL), CLIENT_ID, SECRET, KUBECTL (path), KUBECONFIG, NAMESPACE,
# COUNT (refreshes), SECRETS (distinct token Secrets, written in turn).
set -euo pipefail
: "${URL:?}" "${CLIENT_ID:?}" "${SECRET:?}" "${KUBECTL:?}" "${KUBECONFIG:?}" "${NAMESPACE:?}"
COUNT=${COUNT:-100}
SECRETS=${SECRETS:-100}
export KUBECONFIG
for ((i = 0; i < COUNT; i++)); do
  TOKEN=$(curl -s -X POST -H "Content-Type: application/x-www-form-urlencoded" \
    -d "grant_type=client_credentials&client_id=${CLIENT_ID}&client_secret=${SECRET}" \
    "$URL/archivist/iam/v1/appidp/token" | jq -r .access_token)
  "$KUBECTL" -n "$NAMESPACE" create secret generic "baseline-$((i % SECRETS))-token" \
    --from-literal=access_token="$TOKEN" --dry-run=client -o yaml |
    "$KUBECTL" -n "$NAMESPACE" apply -f - > /dev/null
done
