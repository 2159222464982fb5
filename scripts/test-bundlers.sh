#!/usr/bin/env bash
# The bundler matrix (issue 18): `npm pack` of the package, installed into fresh apps in a
# temporary folder outside the checkout, built with zero configuration by pinned Vite (build,
# dev, preview), webpack 5 and esbuild (ESM, and the iife and missing-wasm failure cases), an
# import-map page and two CSP headers, each page loaded in headless Chromium making a handoff
# call and a streamed chat against the emulator; Node ESM and CommonJS; tsc --noEmit with
# moduleResolution bundler and node16. Prints the table; exits non-zero on any failed row.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
start=$(date +%s)
scripts/install-browser-test.sh
scripts/install-bundlers.sh
# make npm, unless the package is newer than everything it is built from.
scripts/ensure-npm.sh
cargo build --quiet -p polargrid-emulator

work=$(mktemp -d "${TMPDIR:-/tmp}/polargrid-bundlers.XXXXXX")
trap 'rm -rf "$work"' EXIT
tarball=$(cd bindings-wasm/npm && npm pack --pack-destination "$work" --loglevel=error | tail -1)
node tests/bundlers/matrix.mjs "$work" "$work/$tarball"
echo "test-bundlers: $(($(date +%s) - start)) s"
