#!/usr/bin/env bash
# The uniffi crate (what an Android app loads as libpolargrid_uniffi.so) type-checks for the three
# Android ABIs apps ship: arm64-v8a, armeabi-v7a and x86_64 (emulators). Adds the rustup targets once
# (skipped when present, like install-wasm-target.sh). `cargo check` needs no NDK: linking the .so
# does, which scripts/build-android.sh does where the NDK is installed (not here, not in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGETS=(aarch64-linux-android armv7-linux-androideabi x86_64-linux-android)
installed="$(rustup target list --installed)"
for t in "${TARGETS[@]}"; do
  if ! grep -qx "$t" <<<"$installed"; then
    echo "adding rustup target $t" >&2
    rustup target add "$t"
  fi
done
# One cargo run for the three: the host pieces (proc macros, build scripts) are built once and
# the targets are checked side by side.
s=$SECONDS
args=()
for t in "${TARGETS[@]}"; do args+=(--target "$t"); done
cargo check --quiet -p polargrid-uniffi --lib "${args[@]}"
echo "check-android-targets: polargrid-uniffi checks for ${TARGETS[*]} ($(( SECONDS - s )) s)"
