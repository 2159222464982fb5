#!/usr/bin/env bash
# Real, unchanged published clients against the emulator (issue 8). For each client script:
# start `polargrid-emulator`, read its start-up JSON (first stdout line), run the script with
# it in $PG_EMULATOR, stop the emulator (close its stdin). Clients come from
# scripts/install-clients.sh (pinned, in $POLARGRID_CACHE).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/env.sh
scripts/install-clients.sh
cargo build --quiet -p polargrid-emulator

with_emulator() { # name, command...
  local name="$1"; shift
  # What `cargo run -p polargrid-emulator` runs, built just above.
  coproc EMU { exec "${CARGO_TARGET_DIR:-target}/debug/polargrid-emulator"; }
  local line
  if ! IFS= read -r -t 60 line <&"${EMU[0]}"; then
    echo "$name: the emulator printed no start-up line" >&2; return 1
  fi
  local rc=0
  PG_EMULATOR="$line" "$@" || rc=$?
  eval "exec ${EMU[1]}>&-"   # stdin EOF: the emulator exits
  wait "$EMU_PID" || true
  if [ "$rc" = 0 ]; then echo "$name ... ok"; else echo "$name ... FAILED" >&2; fi
  return "$rc"
}

py_latest="$POLARGRID_CACHE/venv-pgsdk-0.10.0/bin/python"
py_session="$POLARGRID_CACHE/venv-pgsdk-0.6.1/bin/python"
with_emulator "polargrid-sdk 0.10.0 (autorouter discovery, direct key)" "$py_latest" tests/clients/pgsdk_direct.py
with_emulator "polargrid-sdk 0.6.1 (session exchange + refresh)" "$py_session" tests/clients/pgsdk_session.py
with_emulator "openai (Python) at an edge" "$py_latest" tests/clients/openai_client.py
with_emulator "openai (npm) at an edge" env NODE_PATH="$POLARGRID_CACHE/npm-clients/node_modules" \
  node tests/clients/openai_client.mjs
