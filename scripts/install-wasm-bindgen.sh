#!/usr/bin/env bash
# Installs wasm-bindgen-cli 0.2.130 (must equal the crate pin in bindings-wasm/Cargo.toml)
# into $POLARGRID_CACHE/bin; skipped when that version is there. No `--locked`: the
# registry copy lacks a locked transitive version (shared/TOOLCHAIN.md). ~7 min cold.
set -euo pipefail
. "$(dirname "$0")/env.sh"
WASM_BINDGEN_VERSION=0.2.130
have() { [ "$("$POLARGRID_CACHE/bin/wasm-bindgen" --version 2>/dev/null | awk '{print $2}')" = "$WASM_BINDGEN_VERSION" ]; }
if ! have; then
  echo "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION into $POLARGRID_CACHE" >&2
  cargo install --quiet wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --root "$POLARGRID_CACHE"
fi
