#!/usr/bin/env bash
# Installs cargo-fuzz (from crates.io) into the project cache; skipped when present.
set -euo pipefail
. "$(dirname "$0")/env.sh"
CARGO_FUZZ_VERSION=0.13.2
if [ "$("$POLARGRID_CACHE/bin/cargo-fuzz" --version 2>/dev/null | awk '{print $2}')" != "$CARGO_FUZZ_VERSION" ]; then
  echo "installing cargo-fuzz $CARGO_FUZZ_VERSION into $POLARGRID_CACHE" >&2
  cargo install --quiet --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION" --root "$POLARGRID_CACHE"
fi
