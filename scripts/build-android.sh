#!/usr/bin/env bash
# Builds what bindings-uniffi/kotlin/android needs, on a machine with the Android NDK
# (ANDROID_NDK_HOME) — not run in this repository's CI, where the NDK cannot be installed:
#  1. libpolargrid_uniffi.so per ABI with cargo-ndk into android/src/main/jniLibs/<abi>/
#     (release profile, symbols kept: uniffi's metadata lives there; never `strip = true`);
#  2. the uniffi glue generated with bindings-uniffi/uniffi.toml (its kotlin section has
#     `android = true`) into android/src/generated/kotlin.
# Then `./gradlew :android:assembleRelease` in bindings-uniffi/kotlin builds the AAR.
# Usage: build-android.sh [abi…]   (default: arm64-v8a armeabi-v7a x86_64)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${ANDROID_NDK_HOME:?set ANDROID_NDK_HOME to the Android NDK (r26 or newer)}"
ABIS=("$@")
[ ${#ABIS[@]} -gt 0 ] || ABIS=(arm64-v8a armeabi-v7a x86_64)
AND=bindings-uniffi/kotlin/android
command -v cargo-ndk >/dev/null || cargo install cargo-ndk --locked
for abi in "${ABIS[@]}"; do
  case "$abi" in
    arm64-v8a) t=aarch64-linux-android ;;
    armeabi-v7a) t=armv7-linux-androideabi ;;
    x86_64) t=x86_64-linux-android ;;
    x86) t=i686-linux-android ;;
    *) echo "unknown ABI $abi" >&2; exit 2 ;;
  esac
  rustup target list --installed | grep -qx "$t" || rustup target add "$t"
done
args=(); for abi in "${ABIS[@]}"; do args+=(-t "$abi"); done
# API 21 is the package's minSdk (bindings-uniffi/kotlin/README.md).
cargo ndk "${args[@]}" --platform 21 -o "$AND/src/main/jniLibs" build --release -p polargrid-uniffi --lib
cargo build --quiet -p polargrid-uniffi --features bindgen --bin uniffi-bindgen
rm -rf "$AND/src/generated" && mkdir -p "$AND/src/generated"
target/debug/uniffi-bindgen generate --library "$AND/src/main/jniLibs/${ABIS[0]}/libpolargrid_uniffi.so" \
  --language kotlin --config bindings-uniffi/uniffi.toml --out-dir "$AND/src/generated/kotlin"
find "$AND/src/main/jniLibs" -name '*.so' -exec ls -l {} +
