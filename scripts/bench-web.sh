#!/usr/bin/env bash
# `make bench-web` (and a line of `make bench`), printed, never asserted (issue 18):
#  - the bundle size as web apps ship it: Vite production build of a page importing the
#    package minus an empty Vite app, every file gzip -9 — polargrid-core (the packed tarball)
#    beside @supabase/auth-js, firebase/auth and openai measured the same way in the same run
#    (tests/bundlers/size.mjs);
#  - start-up: navigation -> first successful call of a cold page in headless Chromium, median
#    of 5 cold loads, unthrottled and on DevTools' "Slow 4G" (tests/bundlers/startup.mjs).
#    `scripts/bench-web.sh before.tgz` alternates loads of that package and this one (A B A B)
#    and prints the ratio.
# Each figure is also recorded (scripts/bench-record.sh) for the table `make bench` ends with.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
scripts/install-browser-test.sh
scripts/install-bundlers.sh
scripts/install-npm-dev.sh --compare
# make npm, unless the package is newer than everything it is built from.
scripts/ensure-npm.sh
cargo build --quiet -p polargrid-emulator

work=$(mktemp -d "${TMPDIR:-/tmp}/polargrid-bench-web.XXXXXX")
trap 'rm -rf "$work"' EXIT
tarball=$work/$(cd bindings-wasm/npm && npm pack --pack-destination "$work" --loglevel=error | tail -1)
scripts/bench-record.sh --run node tests/bundlers/size.mjs "$work" "$tarball"
echo "== start-up: navigation -> first call (handoff page built by Vite, served gzipped, emulator on 127.0.0.1)"
if [ -n "${1:-}" ]; then
  scripts/bench-record.sh --run node tests/bundlers/startup.mjs "$work" 5 "before=$(realpath "$1")" "this=$tarball"
else
  scripts/bench-record.sh --run node tests/bundlers/startup.mjs "$work" 5 "polargrid-core=$tarball"
fi
