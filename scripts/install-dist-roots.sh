#!/usr/bin/env bash
# The old-platform roots `make dist-check` installs the release artifacts into, from Debian's
# mirror (the apt mirror this machine reaches), cached under $POLARGRID_CACHE and reused:
#   debian11-amd64   Debian 11 bullseye (glibc 2.31, CPython 3.9) minbase + python3-venv/pip:
#                    the manylinux2014 x86_64 wheel is pip-installed into a venv there and run
#   debian11-arm64   the same packages + musl (1.2.2) for arm64, unpacked only (debootstrap
#                    --foreign + dpkg -x): its python3 runs the aarch64 wheel's package under
#                    qemu-user-static (apt); its musl loader loads the musllinux aarch64 library
#   musl             Debian's musl (apt): the musllinux x86_64 library is loaded by musl's own
#                    loader (no Alpine root: Alpine's minirootfs is on no registry reached here)
# Usage: install-dist-roots.sh [amd64] [arm64] [musl]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PKGS=python3,python3-venv,python3-pip,ca-certificates
STAMP="bullseye $PKGS"
want="${*:-amd64 arm64 musl}"

apt_get() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ "${#missing[@]}" = 0 ] && return 0
  echo "apt-get install ${missing[*]}" >&2
  apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" >/dev/null; }
}

if [[ " $want " == *" amd64 "* ]]; then
  root="$POLARGRID_CACHE/debian11-amd64"
  if ! [ -f "$root/.stamp" ] || [ "$(cat "$root/.stamp")" != "$STAMP" ]; then
    apt_get debootstrap
    echo "debootstrap bullseye amd64 into $root (~2 min)" >&2
    rm -rf "$root"
    debootstrap --variant=minbase --include="$PKGS" bullseye "$root" "$MIRROR" > "$root.log" 2>&1 ||
      { tail -20 "$root.log" >&2; exit 1; }
    echo "$STAMP" > "$root/.stamp"
  fi
fi

if [[ " $want " == *" arm64 "* ]]; then
  apt_get qemu-user-static
  root="$POLARGRID_CACHE/debian11-arm64"
  if ! [ -f "$root/.stamp" ] || [ "$(cat "$root/.stamp")" != "$STAMP,musl" ]; then
    apt_get debootstrap
    echo "debootstrap --foreign bullseye arm64 into $root (~1 min)" >&2
    rm -rf "$root"
    debootstrap --foreign --arch=arm64 --variant=minbase --include="$PKGS,musl" bullseye "$root" "$MIRROR" > "$root.log" 2>&1 ||
      { tail -20 "$root.log" >&2; exit 1; }
    # No second stage (it needs binfmt_misc): unpack every downloaded package; enough to run python3.
    for deb in "$root"/var/cache/apt/archives/*.deb; do dpkg-deb -x "$deb" "$root"; done
    echo "$STAMP,musl" > "$root/.stamp"
  fi
fi

if [[ " $want " == *" musl "* ]]; then
  apt_get musl musl-tools
fi
