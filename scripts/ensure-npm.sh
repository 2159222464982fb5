#!/usr/bin/env bash
# Builds the npm package (scripts/build-npm.sh) unless its wasm is newer than everything it is
# built from: the suites and benches that use the package call this, so `make test` builds it once.
set -euo pipefail
cd "$(dirname "$0")/.."
wasm=bindings-wasm/npm/polargrid_wasm_bg.wasm
if [ ! -f "$wasm" ] || [ -n "$(find core bindings-wasm/src bindings-wasm/Cargo.toml Cargo.lock -newer "$wasm" -type f -print -quit)" ]; then
  scripts/build-npm.sh
fi
