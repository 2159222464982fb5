#!/usr/bin/env bash
# The Python toolchain, from PyPI into the tool cache (skipped when the pins are there):
#   $POLARGRID_CACHE/venv            maturin, httpx, pytest, openai (build + tests)
#   $POLARGRID_CACHE/venv-bench-pgsdk  PolarGrid's published polargrid-sdk 0.10.0 (make bench only;
#                                      pass --bench to install it)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3
PINS=(maturin==1.16.0 httpx==0.28.1 pytest==9.2.0 openai==3.57.0)
STAMP="${PINS[*]}"

venv_with() { # dir stamp pins...
  local dir=$1 stamp=$2; shift 2
  if [ -f "$dir/.pins" ] && [ "$(cat "$dir/.pins")" = "$stamp" ] && [ -x "$dir/bin/python" ]; then
    return 0
  fi
  echo "installing into $dir: $*" >&2
  rm -rf "$dir"
  "$PY" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
  echo "$stamp" > "$dir/.pins"
}

venv_with "$POLARGRID_CACHE/venv" "$STAMP" "${PINS[@]}"
if [ "${1:-}" = "--bench" ]; then
  venv_with "$POLARGRID_CACHE/venv-bench-pgsdk" "polargrid-sdk==0.10.0 httpx==0.28.1" polargrid-sdk==0.10.0 httpx==0.28.1
fi
