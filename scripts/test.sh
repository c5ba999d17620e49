#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need (Debian packages
# redis-server, chromium and openssl; the pinned npm packages), makes sure Redis is up
# at 127.0.0.1:6379, and runs every test with REDIS_URL set.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
command -v openssl >/dev/null 2>&1 || missing+=(openssl) # certificates for the rediss:// test
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

echo "== npm packages (oidc-provider, pinned)"
npm ci --prefix tests/interop --no-audit --no-fund --loglevel=error
if [ -f tests/browser/package.json ]; then
  npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
fi

export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
if ! redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1; then
  echo "== starting redis-server on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 1 50); do redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

echo "== cargo test (REDIS_URL=$REDIS_URL)"
cargo test --workspace --all-features "$@"
