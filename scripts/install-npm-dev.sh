#!/usr/bin/env bash
# Installs the npm package's dev tools (binaryen@132 for wasm-opt — never Debian's binaryen,
# whose output fails in V8 —, esbuild, openai, typescript) into $POLARGRID_CACHE/npm-node
# from the committed lockfile bindings-wasm/dev/package-lock.json; skipped when the cache
# already holds exactly that lockfile. `--compare` also installs the packages `make bench-npm`
# compares the bundle with (bindings-wasm/dev/compare) into $POLARGRID_CACHE/npm-node/compare.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

install_one() { # <committed dir> <cache dir>
  local src=$1 dst=$2
  mkdir -p "$dst"
  if [ -d "$dst/node_modules" ] && cmp -s "$src/package-lock.json" "$dst/package-lock.json"; then
    return 0
  fi
  echo "installing npm packages of $src into $dst" >&2
  cp "$src/package.json" "$src/package-lock.json" "$dst/"
  npm ci --prefix "$dst" --no-audit --no-fund --loglevel=error >&2
}

install_one bindings-wasm/dev "$POLARGRID_CACHE/npm-node"
if [ "${1:-}" = "--compare" ]; then
  install_one bindings-wasm/dev/compare "$POLARGRID_CACHE/npm-node/compare"
fi
