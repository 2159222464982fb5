#!/usr/bin/env bash
# RUSTC_WRAPPER for `make dist`'s zig-linked wheels: links the polargrid_uniffi cdylib without
# `-C strip=debuginfo` (cargo's release default). zig's linker takes --strip-debug as "strip all":
# the .symtab, where uniffi's metadata lives, goes too, and maturin then finds "No UniFFI metadata".
# scripts/dist.sh strips the debug info afterwards (zig objcopy --strip-debug keeps .symtab).
# Only the final crate's arguments change (a wrapper is not part of cargo's fingerprint, so every
# dependency stays cached).
rustc="$1"; shift
args=()
ours=0
for a in "$@"; do [ "$a" = polargrid_uniffi ] && ours=1; done
while [ $# -gt 0 ]; do
  if [ "$ours" = 1 ] && [ "$1" = -C ] && [[ "${2:-}" == strip=* ]]; then shift 2; continue; fi
  if [ "$ours" = 1 ] && [[ "$1" == -Cstrip=* ]]; then shift; continue; fi
  args+=("$1"); shift
done
exec "$rustc" "${args[@]}"
