#!/usr/bin/env bash
# Installs cargo-mutants (from crates.io) into the project cache; skipped when present.
set -euo pipefail
. "$(dirname "$0")/env.sh"
CARGO_MUTANTS_VERSION=27.1.0
if [ "$("$POLARGRID_CACHE/bin/cargo-mutants" mutants --version 2>/dev/null | awk '{print $2}')" != "$CARGO_MUTANTS_VERSION" ]; then
  echo "installing cargo-mutants $CARGO_MUTANTS_VERSION into $POLARGRID_CACHE" >&2
  cargo install --quiet --locked cargo-mutants --version "$CARGO_MUTANTS_VERSION" --root "$POLARGRID_CACHE"
fi
