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
  tests/browser/coordination.test.mjs tests/browser/sdk.test.mjs tests/browser/redirect.test.mjs tests/browser/status.test.mjs

# Every conformance scenario through a page (tests/conformance/adapters/browser). A page's
# fetch says nothing about why it failed, so the driver reports "opaque" and the core decides
# (certain for a call that is safe to repeat: broad_outage_walks_every_region passes).
make --no-print-directory conformance ADAPTER=browser JOBS=4
