#!/usr/bin/env bash
# A user of the Rust client (polargrid-blocking) or of the shared driver under it
# (polargrid-driver) must not link the emulator: it brings jsonwebtoken and rsa
# (RUSTSEC-2023-0071, no fixed release). The emulator is a dev-dependency (quickstart
# example, tests) and an opt-in `emulator` feature of polargrid-blocking only.
set -euo pipefail
cd "$(dirname "$0")/.."
banned="polargrid-emulator jsonwebtoken rsa"
for pkg in polargrid-blocking polargrid-driver; do
  actual=$(cargo tree -p "$pkg" -e normal,build --prefix none --format "{p}" | awk '{print $1}' | sort -u)
  found=""
  for crate in $banned; do
    if printf '%s\n' "$actual" | grep -qx "$crate"; then found="$found $crate"; fi
  done
  if [ -n "$found" ]; then
    echo "$pkg links test-only crates for every user:$found" >&2
    exit 1
  fi
done
echo "driver dependencies ok: no emulator, jsonwebtoken or rsa for users of polargrid-blocking or polargrid-driver"
