#!/usr/bin/env bash
# `make bench-npm` (and a line of `make bench`): the npm package's size and speed, printed,
# never asserted.
#  - bundle: wasm (after npm binaryen's wasm-opt -Oz) + wasm-bindgen glue + driver, the JS
#    minified by esbuild; gzip -9 — beside @supabase/auth-js, openai and firebase/auth
#    bundled the same way (esbuild --bundle --minify, browser platform, gzip -9);
#  - where the wasm's bytes go (twiggy, on a copy that keeps function names);
#  - pg.fetch's overhead over a bare fetch with a Bearer header (bindings-wasm/bench/overhead.mjs).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
scripts/build-npm.sh
scripts/install-npm-dev.sh --compare
scripts/install-twiggy.sh

bin="$POLARGRID_CACHE/npm-node/node_modules/.bin"
cmp="$POLARGRID_CACHE/npm-node/compare"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gz() { gzip -9c "$1" | wc -c; }
kb() { awk -v b="$1" 'BEGIN { printf "%.1f KB", b / 1000 }'; }

"$bin/esbuild" bindings-wasm/npm/index.js --bundle --minify --format=esm --platform=neutral \
  --external:node:fs/promises --log-level=warning --outfile="$work/polargrid.js"
wasm=bindings-wasm/npm/polargrid_wasm_bg.wasm
js_gz=$(gz "$work/polargrid.js")
wasm_gz=$(gz "$wasm")
echo "== bundle size (minified with esbuild, gzip -9; budget for polargrid-core <= 30 KB gz)"
printf '%-28s %10s   (wasm %s + glue and driver %s; raw wasm %s, raw js %s)\n' polargrid-core \
  "$(kb $((js_gz + wasm_gz)))" "$(kb "$wasm_gz")" "$(kb "$js_gz")" "$(kb "$(wc -c <"$wasm")")" "$(kb "$(wc -c <"$work/polargrid.js")")"
bundle() { # <label> <entry source>
  echo "$2" >"$cmp/entry-$$.mjs"
  if "$bin/esbuild" "$cmp/entry-$$.mjs" --bundle --minify --format=esm --platform=browser \
    --log-level=error --outfile="$work/$1.js" 2>"$work/err"; then
    printf '%-28s %10s\n' "$1" "$(kb "$(gz "$work/$1.js")")"
  else
    printf '%-28s %10s\n' "$1" "(bundle failed: $(head -1 "$work/err"))"
  fi
  rm -f "$cmp/entry-$$.mjs"
}
bundle "@supabase/auth-js" "export { GoTrueClient } from '@supabase/auth-js';"
bundle "openai" "export { default } from 'openai';"
bundle "firebase/auth" "export { getAuth, signInWithEmailAndPassword, onAuthStateChanged } from 'firebase/auth';"

echo "== where the wasm's bytes go (twiggy top, after wasm-opt -Oz; names kept for this only)"
wasm-bindgen --target web --keep-debug --no-typescript --out-dir "$work/named" \
  target/wasm32-unknown-unknown/wasm/polargrid_wasm.wasm
"$bin/wasm-opt" -Oz -g --strip-dwarf "$work/named/polargrid_wasm_bg.wasm" -o "$work/named.wasm"
twiggy top -n 100000 --format csv "$work/named.wasm" >"$work/top.csv"
node bindings-wasm/bench/breakdown.mjs "$work/top.csv"
twiggy top -n 12 "$work/named.wasm" | sed 's/\[[0-9a-f]\{16\}\]//g' | grep -v 'function names'

echo "== pg.fetch overhead"
scripts/bench-record.sh --run node bindings-wasm/bench/overhead.mjs
