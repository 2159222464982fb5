#!/usr/bin/env bash
# The browser suites: the npm package's browser entry and its tab coordination in
# Debian's headless Chromium (driven by playwright-core), against the real emulator over
# 127.0.0.1. Installs what is missing (chromium by apt, playwright-core by npm into
# $POLARGRID_CACHE/npm-browser) and builds the package (make npm) and the emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
scripts/install-browser-test.sh
# make npm, unless the package is newer than everything it is built from.
scripts/ensure-npm.sh
cargo build --quiet -p polargrid-emulator
echo "--- types of the browser entry (tsc --noEmit tests/browser/typecheck.ts)"
"$POLARGRID_CACHE/npm-node/node_modules/.bin/tsc" -p tests/browser/tsconfig.json
node --test --test-concurrency=1 --test-reporter=spec \
  tests/browser/coordination.test.mjs tests/browser/sdk.test.mjs tests/browser/redirect.test.mjs tests/browser/status.test.mjs

# Every conformance scenario through a page (tests/conformance/adapters/browser). A page's
# fetch says nothing about why it failed, so the driver reports "opaque" and the core decides
# (certain for a call that is safe to repeat: broad_outage_walks_every_region passes). What a
# page cannot observe (the connect phase, the raw head) its adapter declares in its configure
# answer, and a scenario may declare, with its reason, what a page does instead (its call's
# "unobserved" field: the pinned blackhole, the bare CR, the 80 KiB head). Two scenarios
# stay skipped: a blackholed region in a page shows as the core's own attempt deadline
# (timeout, ambiguous: a page's fetch has no connect timeout and cannot tell "not connected"
# from "answer slow"), so the core retries a GET in place and the call ends at its deadline
# (twice the attempt timeout) before it ever tries another region. See
# /work/plan/requests/pagefaults.md for the core rule that would let a page fail over.
page_cannot_observe=" blackholed_region_connect_timeout_fails_over two_blackholed_regions_get_reaches_the_third "
only=()
for f in tests/conformance/scenarios/*.json; do
  n=$(basename "$f" .json)
  case "$page_cannot_observe" in *" $n "*) echo "browser: skipped $n (a page cannot observe it)" ;; *) only+=(--only "$n") ;; esac
done
make --no-print-directory conformance ADAPTER=browser JOBS=4 CONFORMANCE_ARGS="${only[*]}"
