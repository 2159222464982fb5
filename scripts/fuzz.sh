#!/usr/bin/env bash
# Builds and runs every fuzz target of fuzz/ for a while, then prints per target the
# executions, exec/s and crashes. Exits non-zero when any target crashed.
#
#   scripts/fuzz.sh            60 s per target
#   scripts/fuzz.sh 600        600 s per target
#   scripts/fuzz.sh --smoke    10 s per target (CI)
#   FUZZ_JOBS=1 scripts/fuzz.sh   targets one at a time (default: one per CPU)
#   FUZZ_TARGETS="jwt_claims snapshot" scripts/fuzz.sh   a subset
#
# cargo-fuzz needs nightly-only flags; the stable toolchain accepts them with
# RUSTC_BOOTSTRAP=1. The build keeps debug assertions and overflow checks (cargo-fuzz's
# default) but no AddressSanitizer: the core is `#![forbid(unsafe_code)]`, and without
# ASan the targets run about twice as fast. The corpus grows in fuzz/corpus/<target>
# (seeded from the committed fuzz/seeds/<target>), crashes land in
# fuzz/artifacts/<target>; both are outside git. Logs: fuzz/logs/<target>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

secs=60
case "${1:-}" in
  --smoke) secs=10 ;;
  "") ;;
  *[!0-9]*) echo "usage: $0 [seconds-per-target | --smoke]" >&2; exit 2 ;;
  *) secs=$1 ;;
esac

bash scripts/install-fuzz.sh
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$PWD/fuzz/target"
flags=(--sanitizer none)

targets=(${FUZZ_TARGETS:-$(cargo fuzz list)})
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}

echo "building ${#targets[@]} fuzz targets" >&2
cargo fuzz build "${flags[@]}" >&2

mkdir -p fuzz/logs
run_one() {
  local t=$1
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t" "fuzz/seeds/$t"
  # -timeout: one input taking over 10 s counts as a crash (a hang);
  # -rss_limit_mb: so does a leak or a bomb that blows the memory.
  cargo fuzz run "${flags[@]}" "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"fuzz/logs/$t.log" 2>&1 || true
}

running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

failed=0
printf '%-16s %14s %10s %8s %7s\n' target executions exec/s seconds crashes
for t in "${targets[@]}"; do
  log="fuzz/logs/$t.log"
  execs=$(grep -oE 'stat::number_of_executed_units:[[:space:]]*[0-9]+' "$log" | tail -1 | awk '{print $2}' || true)
  if [ -z "$execs" ]; then
    execs=$(grep -oE '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 | tr -dc 0-9 || true)
  fi
  took=$(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1 | awk '{print $5}' || true)
  rate=$(grep -oE 'stat::average_exec_per_sec:[[:space:]]*[0-9]+' "$log" | tail -1 | awk '{print $2}' || true)
  crashes=$(grep -cE 'Test unit written to .*/(crash|oom|timeout|leak)-' "$log" || true)
  if [ -z "$execs" ] && [ "$crashes" -eq 0 ]; then
    crashes=1 # no statistics and no artifact: the target did not even run
    echo "$t: no statistics; see $log" >&2
  fi
  printf '%-16s %14s %10s %8s %7s\n' "$t" "${execs:-?}" "${rate:-?}" "${took:-?}" "$crashes"
  if [ "$crashes" -ne 0 ]; then
    failed=1
    { grep -E -A1 'panicked at' "$log" || true; } | head -2 | sed "s/^/  $t: /" >&2
    { grep -E 'SUMMARY|Test unit written' "$log" || true; } | head -2 | sed "s/^/  $t: /" >&2
  fi
done
exit "$failed"
