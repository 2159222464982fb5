#!/usr/bin/env bash
# `make mutants`: cargo-mutants over the core's machines and parsers, each mutant judged by
# the core's own tests (`cargo test -p polargrid-core`), then the score per file. Long
# (see README), so not part of `make test`.
#   MUTANTS_FILES="session call"  only these files of core/src (default: every machine/parser)
#   MUTANTS_JOBS=2                mutants in parallel (default 1: the machine is shared)
#   MUTANTS_OUT=dir               where mutants.out goes (default target/mutants-out)
# Extra arguments go to cargo-mutants (e.g. `--re 'fn_name'`). Exclusions, each with its
# reason, are in .cargo/mutants.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
scripts/install-mutants.sh

read -r -a files <<<"${MUTANTS_FILES:-session grant skew call route classify jwt httpdate url snapshot config}"
out="${MUTANTS_OUT:-target/mutants-out}"
args=()
for f in "${files[@]}"; do
  if [ -f "core/src/$f.rs" ]; then args+=(--file "core/src/$f.rs"); fi
done
# Mutants are built without debug info and lightly optimised: quicker links, and the
# seeded-chaos tests run several times faster. What the tests check is unchanged.
export CARGO_PROFILE_DEV_DEBUG=0 CARGO_PROFILE_TEST_DEBUG=0
export CARGO_PROFILE_DEV_OPT_LEVEL=1 CARGO_PROFILE_TEST_OPT_LEVEL=1
start=$(date +%s)
rc=0
cargo mutants --package polargrid-core --no-shuffle --jobs "${MUTANTS_JOBS:-1}" \
  --output "$out" "${args[@]}" "$@" || rc=$?
# 0: every mutant caught; 2: some missed; 3: some timed out (a hang the tests caught).
case $rc in 0 | 2 | 3) ;; *)
  echo "cargo mutants failed (exit $rc)" >&2
  exit "$rc"
  ;;
esac
echo "cargo mutants took $((($(date +%s) - start) / 60)) min"
scripts/mutants-table.sh "$out/mutants.out"
