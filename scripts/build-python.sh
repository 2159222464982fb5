#!/usr/bin/env bash
# `make python`: the polargrid-core wheel (maturin, bindings = "uniffi") into target/wheels/.
# PYTHON_PROFILE=release for a release build (smaller wheel); the default debug build is the
# faster one end to end on this machine (see scripts/bench-python.sh for the numbers).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
scripts/install-python.sh
rm -f target/wheels/polargrid_core-*.whl
args=()
[ "${PYTHON_PROFILE:-debug}" = release ] && args+=(--release)
"$POLARGRID_CACHE/venv/bin/maturin" build --quiet ${args[@]+"${args[@]}"} -m bindings-uniffi/Cargo.toml
ls target/wheels/polargrid_core-*.whl
