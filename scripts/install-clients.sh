#!/usr/bin/env bash
# Real, unchanged clients the emulator must satisfy (issue 8), pinned, into the tool cache:
#   $POLARGRID_CACHE/venv-pgsdk-0.10.0  polargrid-sdk 0.10.0 + openai (Python)
#   $POLARGRID_CACHE/venv-pgsdk-0.6.1   polargrid-sdk 0.6.1 (session exchange + refresh)
#   $POLARGRID_CACHE/npm-clients        openai (npm)
# Each is skipped when the pinned version is already installed there.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

PGSDK_LATEST=0.10.0
PGSDK_SESSION=0.6.1
OPENAI_PY=3.57.0
OPENAI_NPM=7.59.0

venv() { # dir, then pip requirements
  local dir="$POLARGRID_CACHE/$1"; shift
  local want; want="$(printf '%s\n' "$@")"
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.pinned" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  echo "installing $* into $dir"
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
  printf '%s' "$want" >"$dir/.pinned"
}

venv "venv-pgsdk-$PGSDK_LATEST" "polargrid-sdk==$PGSDK_LATEST" "openai==$OPENAI_PY"
venv "venv-pgsdk-$PGSDK_SESSION" "polargrid-sdk==$PGSDK_SESSION"

npm_dir="$POLARGRID_CACHE/npm-clients"
have="$(node -p "require('$npm_dir/node_modules/openai/package.json').version" 2>/dev/null || true)"
if [ "$have" != "$OPENAI_NPM" ]; then
  echo "installing openai@$OPENAI_NPM into $npm_dir"
  mkdir -p "$npm_dir"
  [ -f "$npm_dir/package.json" ] || echo '{"name":"polargrid-npm-clients","private":true}' >"$npm_dir/package.json"
  npm install --prefix "$npm_dir" --no-audit --no-fund --silent "openai@$OPENAI_NPM"
fi
