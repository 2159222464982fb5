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
# (certain for a call that is safe to repeat: broad_outage_walks_every_region passes). Five
# scenarios observe what a page cannot (see /work/plan/requests/web.md):
# - the blackholed ones need a connect timeout: a page's fetch has none, and cannot tell "not
#   connected yet" from "connected, answer slow" (only the core's own deadline ends it: timeout);
# - the head-hygiene ones need the raw head: Chromium accepts a bare CR and heads up to 256 KiB,
#   and a page sees only CORS-exposed headers.
page_cannot_observe=" blackholed_region_connect_timeout_fails_over pinned_blackholed_region_fails_with_connect_timeout two_blackholed_regions_get_reaches_the_third edge_head_over_64_kib_is_a_protocol_error edge_header_with_cr_is_a_protocol_error "
only=()
for f in tests/conformance/scenarios/*.json; do
  n=$(basename "$f" .json)
  case "$page_cannot_observe" in *" $n "*) echo "browser: skipped $n (a page cannot observe it)" ;; *) only+=(--only "$n") ;; esac
done
make --no-print-directory conformance ADAPTER=browser JOBS=4 CONFORMANCE_ARGS="${only[*]}"
