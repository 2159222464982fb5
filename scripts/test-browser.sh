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

# Every conformance scenario through a page (tests/conformance/adapters/browser), none
# skipped. A page's fetch says nothing about why it failed, so the driver reports "opaque" and
# the core decides (certain for a call that is safe to repeat: broad_outage_walks_every_region
# passes). Nor can it see the connect phase: the browser entry tells the core so
# (transportObservesConnect = 0), and the core watches the connect timeout itself (route.rs,
# "Unobserved connects": a GET silent past it moves to another region, so the blackholed
# regions are survived). What a page does differently from other platforms (the pinned
# blackhole, the bare CR, the 80 KiB head, a slow GET moving on) a scenario declares, with its
# reason, in a call's or log count's "unobserved" field; the adapter's configure answer says
# which limits apply.
make --no-print-directory conformance ADAPTER=browser JOBS=4
