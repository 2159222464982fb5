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

step "fuzz smoke: every fuzz target for 10 s (cargo-fuzz cached in $POLARGRID_CACHE)"
scripts/fuzz.sh --smoke
