#!/usr/bin/env bash
# The release toolchain (`make dist`), skipped when present:
#   $POLARGRID_CACHE/venv-dist   maturin (wheels, sdist), ziglang (its --zig cross-linker for
#                                manylinux2014 / musllinux_1_2), auditwheel (inspects the tags)
#   rustup targets               aarch64 glibc, x86_64 + aarch64 musl, aarch64-apple-ios (a staticlib
#                                needs no linker, so the iOS library builds here)
#   binutils-aarch64-linux-gnu, patchelf   (apt) objcopy for the aarch64 libraries' debug info;
#                                the musl libraries' NEEDED libc name
# Everything from PyPI, rustup and apt (the registries this machine reaches); PyPI pins exact.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3
PINS=(maturin==1.16.0 ziglang==0.17.1 auditwheel==6.8.2)
DIR="$POLARGRID_CACHE/venv-dist"
if ! { [ -f "$DIR/.pins" ] && [ "$(cat "$DIR/.pins")" = "${PINS[*]}" ] && [ -x "$DIR/bin/maturin" ]; }; then
  echo "installing into $DIR: ${PINS[*]}" >&2
  rm -rf "$DIR"
  "$PY" -m venv "$DIR"
  "$DIR/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}"
  echo "${PINS[*]}" > "$DIR/.pins"
fi

TARGETS=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu x86_64-unknown-linux-musl aarch64-unknown-linux-musl aarch64-apple-ios)
installed="$(rustup target list --installed)"
missing=()
for t in "${TARGETS[@]}"; do grep -qx "$t" <<<"$installed" || missing+=("$t"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "rustup target add ${missing[*]}" >&2
  rustup target add "${missing[@]}" >&2
fi

# binutils-aarch64-linux-gnu: objcopy for the aarch64 libraries' debug info; patchelf: the musl
# libraries' libc NEEDED entry (scripts/dist.sh says why).
apt_missing=()
command -v aarch64-linux-gnu-objcopy >/dev/null || apt_missing+=(binutils-aarch64-linux-gnu)
command -v patchelf >/dev/null || apt_missing+=(patchelf)
if [ "${#apt_missing[@]}" -gt 0 ]; then
  echo "apt-get install ${apt_missing[*]}" >&2
  apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${apt_missing[@]}" >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${apt_missing[@]}" >/dev/null; }
fi
