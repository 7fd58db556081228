#!/usr/bin/env bash
# The DataTrails docs' App Registrations walkthrough with curl and jq, as the docs write it. Run by
# walkthrough.test.ts against the emulator with URL, ADMIN_CLIENT_ID, ADMIN_SECRET, ADMIN_TOKEN_FILE,
# BEARER_TOKEN_FILE and WORK set. Prints the new application's client id.
set -euo pipefail
umask 077

# An admin (OWNER) token, as the docs get one.
RESPONSE=$(curl -s -X POST -H "Content-Type: application/x-www-form-urlencoded" \
  -d "grant_type=client_credentials&client_id=${ADMIN_CLIENT_ID}&client_secret=${ADMIN_SECRET}" \
  $URL/archivist/iam/v1/appidp/token)
ADMIN_TOKEN=$(echo -n $RESPONSE | jq -r .access_token)
echo "Authorization: Bearer $ADMIN_TOKEN" > $ADMIN_TOKEN_FILE

# Create the application from a JSON file.
cat > $WORK/app.json <<'JSON'
{
    "display_name": "TrafficLight101",
    "custom_claims": {
      "serial_number": "TL1000000101",
      "has_cyclist_light": "true"
    }
}
JSON
curl -s -X POST \
     -H "@$ADMIN_TOKEN_FILE" \
     -H "Content-Type: application/json" \
     -d "@$WORK/app.json" \
     $URL/archivist/iam/v1/applications > $WORK/created.json
CLIENT_ID=$(jq -r .client_id $WORK/created.json)
SECRET=$(jq -r '.credentials[0].secret' $WORK/created.json)

# The integration's own token, in a 0600 bearer file.
TOKEN=$(curl -s -X POST -H "Content-Type: application/x-www-form-urlencoded" -d "grant_type=client_credentials&client_id=${CLIENT_ID}&client_secret=${SECRET}" $URL/archivist/iam/v1/appidp/token | jq -r .access_token)
echo "Authorization: Bearer $TOKEN" > $BEARER_TOKEN_FILE

# The smoke test: a new integration sees no assets.
curl -s -H @$BEARER_TOKEN_FILE $URL/archivist/v2/assets > $WORK/assets.json
jq -e '. == {"assets":[],"next_page_token":""}' $WORK/assets.json > /dev/null

# The payload (base64url, unpadded) carries both custom claims.
PAYLOAD=$(echo -n $TOKEN | cut -d '.' -f 2 | tr '_-' '/+')
while [ $(( ${#PAYLOAD} % 4 )) -ne 0 ]; do PAYLOAD="$PAYLOAD="; done
echo -n "$PAYLOAD" | base64 -d > $WORK/payload.json
jq -e '.serial_number == "TL1000000101" and .has_cyclist_light == "true"' $WORK/payload.json > /dev/null

echo "$CLIENT_ID"
