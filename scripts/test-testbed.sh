#!/usr/bin/env bash
# The test bed (issue 8): the conformance CLI end to end through the `rust` adapter script,
# and real, unchanged published clients against the emulator.
# (`cargo test -p polargrid-conformance`, run by `cargo test --workspace`, also replays every
# scenario through the Rust adapter binary and tests the runner itself.)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

echo "--- make conformance: every scenario through adapters/rust"
make --no-print-directory conformance ADAPTER=rust SCENARIOS=tests/conformance/scenarios

echo "--- make conformance on tests/should_fail: every scenario must FAIL, exit non-zero"
out="$(make --no-print-directory conformance SCENARIOS=tests/conformance/tests/should_fail 2>&1)" && {
  echo "$out"; echo "should_fail scenarios passed: the runner cannot fail" >&2; exit 1; }
total=$(ls tests/conformance/tests/should_fail/*.json | wc -l)
echo "$out" | grep -q "^0 passed, $total failed$" || { echo "$out"; echo "expected 0 passed, $total failed" >&2; exit 1; }
# Shown without the runner's closing line, so a log reader does not take it for a failed suite.
echo "$out" | grep ' \.\.\. FAILED: '
echo "should_fail: all $total scenarios failed, as each is meant to"

if [ -x tests/clients/run.sh ]; then
  echo "--- real clients against the emulator"
  tests/clients/run.sh
fi
