#!/usr/bin/env bash
# The browser suite's tools: Debian's chromium (apt, when missing) and playwright-core
# (npm; it downloads no browser) into $POLARGRID_CACHE/npm-browser from the committed
# tests/browser/package-lock.json. Each step is skipped when already in place.
set -euo pipefail
. "$(dirname "$0")/env.sh"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium (apt)" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get install -y chromium || { $SUDO apt-get update && $SUDO apt-get install -y chromium; }
fi

DIR="$POLARGRID_CACHE/npm-browser"
if ! cmp -s "$ROOT/tests/browser/package-lock.json" "$DIR/package-lock.json" \
  || [ ! -f "$DIR/node_modules/playwright-core/package.json" ]; then
  echo "installing playwright-core into $DIR" >&2
  mkdir -p "$DIR"
  cp "$ROOT/tests/browser/package.json" "$ROOT/tests/browser/package-lock.json" "$DIR/"
  (cd "$DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
