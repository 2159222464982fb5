#!/usr/bin/env bash
# The Kotlin and Swift packages, for real: installs kotlinc (npm) + JNA (apt) and Swift 6 (trixie
# chroot) into the tool cache if missing, builds the uniffi crate, generates the bindings, compiles,
# then runs both suites, both quickstarts and both conformance adapters against the emulator.
# Prints each step's time. Generated code lands under target/ and gitignored folders only.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
export POLARGRID_EMULATOR="$PWD/target/debug/polargrid-emulator"
step() { printf '\n--- mobile: %s\n' "$*"; }
timed() { local s=$SECONDS; "$@"; echo "  (${*:1:3}: $(( SECONDS - s )) s)"; }

step "install kotlinc + JNA, Swift chroot (skipped when present)"
timed scripts/install-kotlin.sh
timed scripts/install-swift.sh
step "build: uniffi crate, bindgen, kotlinc, swiftc (skipped when unchanged)"
timed scripts/build-mobile.sh all
step "Kotlin suite (JVM 17)"
timed scripts/mobile-run.sh kotlin ai.polargrid.core.PolarGridTestKt
step "Kotlin on Android: nothing above minSdk 21 (Java 8 API, java.base only, denylist)"
timed scripts/check-android-api.sh
step "Swift suite (XCTest)"
timed scripts/mobile-run.sh swift PolarGridCoreTests
step "quickstarts against the emulator"
timed scripts/mobile-run.sh kotlin QuickstartKt
timed scripts/mobile-run.sh swift Quickstart
step "conformance: every scenario through each adapter"
timed make --no-print-directory conformance ADAPTER=kotlin
timed make --no-print-directory conformance ADAPTER=swift
