#!/usr/bin/env bash
# The npm package's tests (one line in scripts/test.sh): builds the package (make npm), then
# against the real emulator over real HTTP in real Node: the node --test suite, the types,
# the quickstart installed with `npm install` as a user would, and — once the conformance
# runner is in the tree — every conformance scenario through the Node adapter.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
start=$(date +%s)

scripts/build-npm.sh
cargo build --quiet -p polargrid-emulator
ln -sfn "$POLARGRID_CACHE/npm-node/node_modules" bindings-wasm/dev/node_modules

echo "--- types (tsc --noEmit on bindings-wasm/dev/typecheck.ts)"
bindings-wasm/dev/node_modules/.bin/tsc -p bindings-wasm/dev/tsconfig.json

echo "--- node --test bindings-wasm/test/"
node --test bindings-wasm/test/

echo "--- examples/node/quickstart.mjs (installed with npm install ./bindings-wasm/npm)"
npm install --prefix examples/node --no-audit --no-fund --loglevel=error
(unset POLARGRID_API_KEY; node examples/node/quickstart.mjs)

if grep -q '^conformance:' Makefile; then
  echo "--- conformance scenarios through the Node adapter"
  make --no-print-directory conformance ADAPTER=node
else
  echo "--- conformance runner not merged yet: Node adapter not run"
fi
echo "test-npm: $(($(date +%s) - start)) s"
