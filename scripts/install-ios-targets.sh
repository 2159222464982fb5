#!/usr/bin/env bash
# Adds the rustup targets the iOS static library is built for; each is skipped when present.
# aarch64-apple-ios (devices) is required. The simulator targets (aarch64-apple-ios-sim,
# x86_64-apple-ios) are added where rustup serves them (it does not on every mirror): their
# absence is reported, not an error, and scripts/build-ios.sh builds what is installed.
set -euo pipefail
installed="$(rustup target list --installed)"
if ! grep -qx aarch64-apple-ios <<<"$installed"; then
  echo "adding rustup target aarch64-apple-ios" >&2
  rustup target add aarch64-apple-ios
fi
for t in aarch64-apple-ios-sim x86_64-apple-ios; do
  grep -qx "$t" <<<"$installed" && continue
  rustup target add "$t" >/dev/null 2>&1 || echo "rustup target $t is not served here: simulator slice skipped" >&2
done
