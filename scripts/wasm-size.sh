#!/usr/bin/env bash
# `make wasm-size`: what the core costs a browser bundle, for comparing changes. Builds a
# small cdylib that reaches every public entry point of the core (inputs it cannot see
# through, so nothing is optimised away) with the wasm release profile, and prints the raw
# and `gzip -9` sizes. No wasm-opt and no wasm-bindgen glue: a relative measure, larger than
# the npm package's core (it also formats every output), not the shipped size.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
scripts/install-wasm-target.sh
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s#@CORE@#$root/core#" scripts/wasm-size/Cargo.toml.in > "$work/Cargo.toml"
cp scripts/wasm-size/lib.rs "$work/lib.rs"
cp Cargo.lock "$work/Cargo.lock" # the workspace's pinned versions
CARGO_TARGET_DIR="$root/target/wasm-size" cargo build --quiet --release \
  --manifest-path "$work/Cargo.toml" --target wasm32-unknown-unknown
wasm="$root/target/wasm-size/wasm32-unknown-unknown/release/polargrid_wasm_size.wasm"
echo "core wasm (size harness, opt-level z, lto, no wasm-opt): $(wc -c < "$wasm") bytes, $(gzip -9 -c "$wasm" | wc -c) gzipped"
