#!/usr/bin/env bash
# Calls an API behind the stepup handler and follows an RFC 9470 challenge:
# when the token's authentication is too weak or too old, the answer is
#   401  WWW-Authenticate: Bearer error="insufficient_user_authentication",
#        acr_values="…", max_age=N
# with a JSON body whose step_up_url a browser can open. The client then
# obtains a new token with those acr_values/max_age from its IdP and retries.
#
#   TOKEN=<access token> ./step-up.sh https://api.example.com/orders
set -euo pipefail
url=${1:?usage: TOKEN=<jwt> $0 <url>}
headers=$(mktemp) body=$(mktemp)
trap 'rm -f "$headers" "$body"' EXIT

status=$(curl -sS -o "$body" -D "$headers" -w '%{http_code}' -H "Authorization: Bearer ${TOKEN:?set TOKEN}" "$url")
if [[ $status != 401 ]]; then
  echo "HTTP $status"; cat "$body"; exit 0
fi
challenge=$(grep -i '^www-authenticate:' "$headers" | cut -d' ' -f2- | tr -d '\r')
echo "step-up required: $challenge"
acr=$(sed -n 's/.*acr_values="\([^"]*\)".*/\1/p' <<<"$challenge")
max_age=$(sed -n 's/.*max_age=\([0-9]*\).*/\1/p' <<<"$challenge")
echo "ask your IdP for a token with acr_values=\"$acr\"${max_age:+ max_age=$max_age}, e.g. by opening:"
sed -n 's/.*"step_up_url":"\([^"]*\)".*/  \1/p' "$body"
exit 1
