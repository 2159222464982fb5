#!/usr/bin/env bash
# The browser suites: the npm package's browser entry and its tab coordination in
# Debian's headless Chromium (driven by playwright-core), against the real emulator over
# 127.0.0.1. Installs what is missing (chromium by apt, playwright-core by npm into
# $POLARGRID_CACHE/npm-browser) and builds the package (make npm) and the emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
scripts/install-browser-test.sh
# make npm, unless the package is newer than everything it is built from (make test has
# just built it in scripts/test-npm.sh).
wasm=bindings-wasm/npm/polargrid_wasm_bg.wasm
if [ ! -f "$wasm" ] || [ -n "$(find core bindings-wasm/src bindings-wasm/Cargo.toml Cargo.lock -newer "$wasm" -type f -print -quit)" ]; then
  scripts/build-npm.sh
fi
cargo build --quiet -p polargrid-emulator
echo "--- types of the browser entry (tsc --noEmit tests/browser/typecheck.ts)"
"$POLARGRID_CACHE/npm-node/node_modules/.bin/tsc" -p tests/browser/tsconfig.json
node --test --test-concurrency=1 --test-reporter=spec \
  tests/browser/coordination.test.mjs tests/browser/sdk.test.mjs tests/browser/redirect.test.mjs

# The conformance scenarios through a page (tests/conformance/adapters/browser), all but
# broad_outage_walks_every_region: it needs a refused connection to be told apart from
# one that broke after sending, and a page's fetch cannot (both are "TypeError: Failed to
# fetch"), so the driver reports "aborted" and the core does not fail over on it.
only=()
for f in tests/conformance/scenarios/*.json; do
  n=$(basename "$f" .json)
  [ "$n" = broad_outage_walks_every_region ] || only+=(--only "$n")
done
make --no-print-directory conformance ADAPTER=browser JOBS=4 CONFORMANCE_ARGS="${only[*]}"
