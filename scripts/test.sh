#!/usr/bin/env bash
# Every test the project has, in the order CI runs them. `make test` calls this and
# `.ci/run` calls `make test`: a green CI means these README steps work on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

step() { printf '\n=== %s\n' "$*"; }

step "toolchain pieces (cached in $POLARGRID_CACHE / rustup; skipped when present)"
scripts/install-wasm-target.sh

step "format"
cargo fmt --all -- --check

step "clippy (warnings denied)"
cargo clippy --workspace --all-targets -- -D warnings

step "docs (warnings denied)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

step "core dependency list (nothing that does IO)"
scripts/check-core-deps.sh

step "driver dependency list (no emulator, jsonwebtoken or rsa for its users)"; scripts/check-driver-deps.sh

step "core builds for wasm32 (no IO, no clock, no RNG in it)"
cargo build -p polargrid-core --target wasm32-unknown-unknown --quiet

step "tests: core, emulator, driver, conformance"
cargo test --workspace

step "test bed: conformance CLI + real published clients against the emulator"
scripts/test-testbed.sh

step "python: wheel, pytest against the emulator, conformance through the Python adapter"
scripts/test-python.sh

step "Kotlin and Swift packages: both suites, quickstarts and conformance adapters (kotlinc, swiftc cached in $POLARGRID_CACHE)"
scripts/test-mobile.sh

step "Android and iOS: polargrid-uniffi cargo-checks for the three Android ABIs and builds as an iOS static library (rustup targets cached; no NDK or Xcode needed)"
scripts/check-android-targets.sh
scripts/build-ios.sh

step "fuzz smoke: every fuzz target for 10 s (cargo-fuzz cached in $POLARGRID_CACHE)"
scripts/fuzz.sh --smoke

step "npm package polargrid-core: build, node --test suite, types, quickstart, Node conformance adapter"
scripts/test-npm.sh

step "browser: the npm package in headless Chromium against the emulator (scripts/test-browser.sh)"
scripts/test-browser.sh

step "bundlers: the packed npm package in fresh Vite/webpack/esbuild/import-map apps, Node ESM+CJS, tsc bundler/node16 (scripts/test-bundlers.sh)"
scripts/test-bundlers.sh

step "release artifacts: every wheel, sdist, npm tarball and jar installed outside the checkout and run against the emulator (scripts/dist-check.sh)"
scripts/dist-check.sh
