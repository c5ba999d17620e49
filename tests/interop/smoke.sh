#!/usr/bin/env bash
# Manual smoke test of a running interop provider with curl (needs curl, jq, openssl).
#   ISSUER=http://127.0.0.1:PORT/11111111-2222-3333-4444-555555555555/as ./smoke.sh
# Uses the default client (rp / rp-secret, redirect http://127.0.0.1:3000/auth/callback).
# Set AUTH=post to authenticate with client_secret_post instead of client_secret_basic.
set -euo pipefail

: "${ISSUER:?set ISSUER to the issuer printed in the ready line}"
CLIENT_ID=${CLIENT_ID:-rp}
CLIENT_SECRET=${CLIENT_SECRET:-rp-secret}
REDIRECT_URI=${REDIRECT_URI:-http://127.0.0.1:3000/auth/callback}
POST_LOGOUT=${POST_LOGOUT:-http://127.0.0.1:3000/}
AUTH=${AUTH:-basic}
ROOT=$(printf %s "$ISSUER" | sed -E 's#^(https?://[^/]+).*#\1#')

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
jar="$work/jar"

enc() { jq -rn --arg v "$1" '$v|@uri'; }
b64url() { base64 | tr '+/' '-_' | tr -d '=\n'; }
step() { printf '\n== %s\n' "$*"; }

# curl the client authentication for the token/introspection/revocation endpoints
client_auth() {
  if [ "$AUTH" = post ]; then
    printf -- '--data-urlencode\nclient_id=%s\n--data-urlencode\nclient_secret=%s\n' "$CLIENT_ID" "$CLIENT_SECRET"
  else
    printf -- '-u\n%s:%s\n' "$CLIENT_ID" "$CLIENT_SECRET"
  fi
}
mapfile -t AUTH_ARGS < <(client_auth)

meta=$(curl -fsS "$ISSUER/.well-known/openid-configuration")
ep() { jq -r --arg k "$1" '.[$k]' <<<"$meta"; }
step "discovery"
jq '{issuer, authorization_endpoint, token_endpoint, userinfo_endpoint, jwks_uri,
     revocation_endpoint, introspection_endpoint, end_session_endpoint,
     authorization_response_iss_parameter_supported}' <<<"$meta"

curl -fsS -X POST "$ROOT/__test/reset" >/dev/null

step "authorize (cookie jar, follow redirects, no form)"
verifier=$(openssl rand 48 | b64url)
challenge=$(printf %s "$verifier" | openssl dgst -sha256 -binary | b64url)
auth_url="$(ep authorization_endpoint)?client_id=$CLIENT_ID&response_type=code&redirect_uri=$(enc "$REDIRECT_URI")&scope=$(enc 'openid profile email')&state=s-123&nonce=n-123&code_challenge=$challenge&code_challenge_method=S256"
# the last hop (the client's redirect_uri) has no listener: curl exits 7 after recording it
final=$(curl -sS -b "$jar" -c "$jar" -L -o /dev/null -w '%{url_effective}' "$auth_url" 2>/dev/null || true)
echo "$final"
code=$(sed -nE 's/.*[?&]code=([^&]+).*/\1/p' <<<"$final")
[ -n "$code" ] || { echo "no code"; exit 1; }
grep -q 'state=s-123' <<<"$final"
grep -q "iss=$(enc "$ISSUER")" <<<"$final"

step "code exchange ($AUTH)"
tokens=$(curl -fsS "${AUTH_ARGS[@]}" "$(ep token_endpoint)" \
  --data-urlencode grant_type=authorization_code --data-urlencode "code=$code" \
  --data-urlencode "redirect_uri=$REDIRECT_URI" --data-urlencode "code_verifier=$verifier")
jq '{token_type, expires_in, scope, has_access: (.access_token|length>0), has_id: (.id_token|length>0), has_refresh: (.refresh_token|length>0)}' <<<"$tokens"
at=$(jq -r .access_token <<<"$tokens"); idt=$(jq -r .id_token <<<"$tokens"); rt1=$(jq -r .refresh_token <<<"$tokens")

step "userinfo"
curl -fsS -H "authorization: Bearer $at" "$(ep userinfo_endpoint)" | jq -c .

step "refresh rotates"
r2=$(curl -fsS "${AUTH_ARGS[@]}" "$(ep token_endpoint)" --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$rt1")
rt2=$(jq -r .refresh_token <<<"$r2")
[ "$rt2" != "$rt1" ] && [ "$rt2" != null ] && echo "rotated: ${rt1:0:8}... -> ${rt2:0:8}..."

step "reusing the old refresh token fails"
curl -sS -w ' HTTP %{http_code}\n' "${AUTH_ARGS[@]}" "$(ep token_endpoint)" --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$rt1"

step "introspect the new refresh token (revoked by the reuse)"
curl -fsS "${AUTH_ARGS[@]}" "$(ep introspection_endpoint)" --data-urlencode "token=$rt2" | jq -c .

step "test hooks"
curl -fsS "$ROOT/__test/refresh-tokens" | jq -c 'length'
curl -fsS "$ROOT/__test/sessions" | jq -c .

step "end session (GET, follow redirects, no form)"
logout_url="$(ep end_session_endpoint)?id_token_hint=$idt&post_logout_redirect_uri=$(enc "$POST_LOGOUT")&state=bye-1"
final=$(curl -sS -b "$jar" -c "$jar" -L -o /dev/null -w '%{url_effective}' "$logout_url" 2>/dev/null || true)
echo "$final"
grep -q 'state=bye-1' <<<"$final"
curl -fsS "$ROOT/__test/sessions" | jq -c .

step "stats"
curl -fsS "$ROOT/__test/stats" | jq -c .
