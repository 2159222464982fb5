#!/usr/bin/env bash
# Adds the wasm32 target to the rustup toolchain (the core must build for it); skipped when present.
set -euo pipefail
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "adding rustup target wasm32-unknown-unknown" >&2
  rustup target add wasm32-unknown-unknown
fi
