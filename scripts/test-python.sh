#!/usr/bin/env bash
# The Python package: build the wheel from this checkout (make python), install it into the
# tool cache's venv, run the pytest suite against the real emulator, then every conformance
# scenario through the Python adapter.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

PYTHON_PROFILE=debug scripts/build-python.sh  # debug: the faster build end to end for tests
V="$POLARGRID_CACHE/venv"
"$V/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps target/wheels/polargrid_core-*.whl
cargo build --quiet -p polargrid-emulator
"$V/bin/python" -m pytest -q -p no:cacheprovider bindings-uniffi/tests
make --no-print-directory conformance ADAPTER=python
env -u POLARGRID_API_KEY "$V/bin/python" examples/python/quickstart.py >/dev/null
echo "examples/python/quickstart.py ... ok"
