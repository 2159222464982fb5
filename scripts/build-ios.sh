#!/usr/bin/env bash
# Builds the uniffi crate as an iOS static library (libpolargrid_uniffi.a) for every installed iOS
# target: aarch64-apple-ios always, the simulator targets where rustup served them. A static
# library needs no Apple linker, so this runs on Linux (make test); the XCFramework around it is
# assembled on a Mac by scripts/build-xcframework.sh. Usage: build-ios.sh [debug|release]
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE="${1:-debug}"
scripts/install-ios-targets.sh
flag=(); [ "$PROFILE" = release ] && flag=(--release)
installed="$(rustup target list --installed)"
for t in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios; do
  grep -qx "$t" <<<"$installed" || continue
  # `cargo rustc --crate-type staticlib`: only the static library (the cdylib would need Apple's linker).
  cargo rustc --quiet -p polargrid-uniffi --lib --target "$t" "${flag[@]}" --crate-type staticlib
  lib="target/$t/$PROFILE/libpolargrid_uniffi.a"
  [ -s "$lib" ] || { echo "no $lib" >&2; exit 1; }
  # The uniffi scaffolding must be in it: the symbols the generated Swift calls (Mach-O objects,
  # which this host's nm cannot read: count the names in the archive's symbol table).
  n="$(LC_ALL=C grep -a -o '_uniffi_polargrid_uniffi_fn_[a-z_0-9]*' "$lib" | sort -u | wc -l)"
  [ "$n" -gt 0 ] || { echo "$lib has no uniffi_polargrid_uniffi_fn_* symbols" >&2; exit 1; }
  echo "ios $t: $lib ($(du -k "$lib" | cut -f1) KiB, $n exported uniffi functions)" >&2
done
