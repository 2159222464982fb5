#!/usr/bin/env bash
# `make npm`: builds the npm package polargrid-core in place at bindings-wasm/npm/ (then
# `npm install ./bindings-wasm/npm` works in any project here). The committed files there are
# the driver (index.js, wasm.js, error.js, browser/), its types (index.d.ts) and package.json;
# the wasm (polargrid_wasm_bg.wasm, optimised for size, and polargrid_wasm_node.wasm, the same
# optimised for speed, which Node loads) and its wasm-bindgen glue are generated here
# (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
scripts/install-wasm-target.sh
scripts/install-wasm-bindgen.sh
scripts/install-npm-dev.sh

out=bindings-wasm/npm
target=${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown
wasm_opt="$POLARGRID_CACHE/npm-node/node_modules/.bin/wasm-opt"
cargo build --quiet -p polargrid-wasm --target wasm32-unknown-unknown --profile wasm
wasm-bindgen --target web --no-typescript --out-dir "$out" "$target/wasm/polargrid_wasm.wasm"
# npm's binaryen, never Debian's (108: its output validates but fails at runtime in V8).
"$wasm_opt" -Oz --strip-debug --strip-producers \
  "$out/polargrid_wasm_bg.wasm" -o "$out/polargrid_wasm_bg.wasm"
# The same code optimised for speed, which Node loads (npm/wasm.js): the same glue, so the
# same exports and imports (checked).
cargo build --quiet -p polargrid-wasm --target wasm32-unknown-unknown --profile wasm-node
node_out=$(mktemp -d)
trap 'rm -rf "$node_out"' EXIT
wasm-bindgen --target web --no-typescript --out-dir "$node_out" "$target/wasm-node/polargrid_wasm.wasm"
if ! cmp -s "$node_out/polargrid_wasm.js" "$out/polargrid_wasm.js"; then
  echo "build-npm: the Node build's wasm-bindgen glue differs from the browser build's" >&2
  exit 1
fi
"$wasm_opt" -O2 --strip-debug --strip-producers \
  "$node_out/polargrid_wasm_bg.wasm" -o "$out/polargrid_wasm_node.wasm"
echo "built $out: $(wc -c <"$out/polargrid_wasm_bg.wasm") bytes of wasm, $(wc -c <"$out/polargrid_wasm_node.wasm") for Node" >&2
