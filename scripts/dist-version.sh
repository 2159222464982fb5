#!/usr/bin/env bash
# Prints the project's one version: `version` under [workspace.package] in the top Cargo.toml.
# Every artifact of `make dist` carries it (the crates inherit it, maturin reads it from the crate,
# scripts/dist.sh stamps it on the npm tarball and the jar and checks them all).
set -euo pipefail
cd "$(dirname "$0")/.."
v="$(awk '/^\[/{s=($0=="[workspace.package]")} s && /^version *=/{gsub(/[" ]/,"",$0); sub(/^version=/,""); print; exit}' Cargo.toml)"
[ -n "$v" ] || { echo "no version under [workspace.package] in Cargo.toml" >&2; exit 1; }
echo "$v"
