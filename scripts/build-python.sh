#!/usr/bin/env bash
# `make python`: the polargrid-core wheel (maturin, bindings = "uniffi") into target/wheels/.
# Release by default (a 0.6 MB wheel); PYTHON_PROFILE=debug builds a debug wheel (16 MB), which
# is what scripts/test-python.sh uses: incremental builds of it are ~2 s against ~30 s.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
scripts/install-python.sh
rm -f target/wheels/polargrid_core-*.whl
args=()
[ "${PYTHON_PROFILE:-release}" = release ] && args+=(--release)
"$POLARGRID_CACHE/venv/bin/maturin" build --quiet ${args[@]+"${args[@]}"} -m bindings-uniffi/Cargo.toml
ls target/wheels/polargrid_core-*.whl
