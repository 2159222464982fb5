#!/usr/bin/env bash
# `make bench-emulator`: requests/s one sequential client gets from the emulator (median of 5).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release -p polargrid-emulator
coproc EMU { exec target/release/polargrid-emulator; }
IFS= read -r -t 60 line <&"${EMU[0]}"
PG_EMULATOR="$line" python3 tests/emulator/bench/load.py
PG_EMULATOR="$line" CLOSE=1 python3 tests/emulator/bench/load.py
eval "exec ${EMU[1]}>&-"
wait "$EMU_PID" || true
