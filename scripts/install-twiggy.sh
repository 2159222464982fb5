#!/usr/bin/env bash
# Installs twiggy (wasm code-size profiler, for `make bench-npm`) into $POLARGRID_CACHE/bin;
# skipped when that version is there.
set -euo pipefail
. "$(dirname "$0")/env.sh"
TWIGGY_VERSION=0.8.0
if [ "$("$POLARGRID_CACHE/bin/twiggy" --version 2>/dev/null | awk '{print $2}')" != "$TWIGGY_VERSION" ]; then
  echo "installing twiggy $TWIGGY_VERSION into $POLARGRID_CACHE" >&2
  cargo install --quiet --locked twiggy --version "$TWIGGY_VERSION" --root "$POLARGRID_CACHE"
fi
