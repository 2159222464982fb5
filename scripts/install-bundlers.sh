#!/usr/bin/env bash
# The bundler matrix's tools (Vite, webpack + webpack-cli, esbuild, TypeScript, pinned in the
# committed tests/bundlers/package-lock.json) into $POLARGRID_CACHE/npm-bundlers; skipped
# when the cache already holds exactly that lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
dst="$POLARGRID_CACHE/npm-bundlers"
if [ -d "$dst/node_modules" ] && cmp -s tests/bundlers/package-lock.json "$dst/package-lock.json"; then
  exit 0
fi
echo "installing the bundler matrix's tools into $dst" >&2
mkdir -p "$dst"
cp tests/bundlers/package.json tests/bundlers/package-lock.json "$dst/"
npm ci --prefix "$dst" --no-audit --no-fund --loglevel=error >&2
