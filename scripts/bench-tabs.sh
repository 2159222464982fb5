#!/usr/bin/env bash
# `make bench-tabs`: refresh coordination of the browser entry across tabs in headless
# Chromium against the real emulator (tests/browser/bench-tabs.mjs), printed, never asserted.
# RUNS=n sets the runs per figure (default 5; medians with min and max).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
scripts/install-browser-test.sh
scripts/ensure-npm.sh
cargo build --quiet -p polargrid-emulator
node tests/browser/bench-tabs.mjs
