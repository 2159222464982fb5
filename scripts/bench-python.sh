#!/usr/bin/env bash
# make bench-python: polargrid_core (release wheel) vs raw httpx vs polargrid-sdk 0.10.0 (its own
# venv in the tool cache) against a local stub edge, plus import times. Printed, never asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
scripts/install-python.sh --bench
PYTHON_PROFILE=release scripts/build-python.sh >/dev/null
V="$POLARGRID_CACHE/venv"
"$V/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps target/wheels/polargrid_core-*.whl
scripts/bench-record.sh --run "$V/bin/python" bindings-uniffi/bench/run.py "$POLARGRID_CACHE/venv-bench-pgsdk/bin/python" "${BENCH_SECONDS:-2}" "${BENCH_ROUNDS:-5}"
