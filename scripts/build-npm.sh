#!/usr/bin/env bash
# `make npm`: builds the npm package polargrid-core in place at bindings-wasm/npm/ (then
# `npm install ./bindings-wasm/npm` works in any project here). The committed files there are
# the driver (index.js), its types (index.d.ts) and package.json; the wasm and its
# wasm-bindgen glue are generated here (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
scripts/install-wasm-target.sh
scripts/install-wasm-bindgen.sh
scripts/install-npm-dev.sh

out=bindings-wasm/npm
cargo build --quiet -p polargrid-wasm --target wasm32-unknown-unknown --profile wasm
wasm-bindgen --target web --no-typescript --out-dir "$out" \
  target/wasm32-unknown-unknown/wasm/polargrid_wasm.wasm
# npm's binaryen, never Debian's (108: its output validates but fails at runtime in V8).
"$POLARGRID_CACHE/npm-node/node_modules/.bin/wasm-opt" -Oz --strip-debug --strip-producers \
  "$out/polargrid_wasm_bg.wasm" -o "$out/polargrid_wasm_bg.wasm"
echo "built $out: $(wc -c <"$out/polargrid_wasm_bg.wasm") bytes of wasm" >&2
