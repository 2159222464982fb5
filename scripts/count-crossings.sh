#!/usr/bin/env bash
# FFI crossings into Rust per call of the Kotlin or Swift package: counts every call of every exported
# uniffi symbol of the release library (a uprobe each, perf) over two runs of `make bench-mobile`'s
# bench with different call counts, and prints the difference per PolarGrid call, function by function
# (Python counts its own in bindings-uniffi/tests/test_blocks.py). Needs root and perf with uprobes
# (/sys/kernel/tracing); the probes are this run's own group and are removed on exit.
# Usage: count-crossings.sh kotlin|swift   (after scripts/build-mobile.sh and a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
lang="${1:?usage: $0 kotlin|swift}"
LIBDIR="$PWD/${CARGO_TARGET_DIR:-target}/release"
LIB="$LIBDIR/libpolargrid_uniffi.so"
[ -f "$LIB" ] || { echo "no $LIB: cargo build --release -p polargrid-uniffi --lib" >&2; exit 2; }
group="pgcross$$"
tmp="$(mktemp -d)"
cleanup() { perf probe -q -d "$group:*" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
args=()
i=0
while read -r sym; do
  args+=(-a "$group:f${i}_$$=$sym")
  echo "f${i}_$$ $sym" >> "$tmp/map"
  i=$((i + 1))
done < <(nm -D --defined-only "$LIB" | awk '{print $3}' | grep -E '^(uniffi_polargrid_uniffi_fn|ffi_polargrid_uniffi)' | grep -v checksum)
perf probe -q -x "$LIB" "${args[@]}"
case "$lang" in
  # Kotlin: max(n/2, 5000) warm-up rounds and n measured, one PolarGrid call each.
  kotlin) main=ai.polargrid.core.bench.BenchKt; n1=100; n2=300; calls=200 ;;
  # Swift: n/2 warm-up rounds and n measured, two PolarGrid calls each (get and stream).
  swift) main=Bench; n1=100; n2=200; calls=300 ;;
  *) echo "usage: $0 kotlin|swift" >&2; exit 2 ;;
esac
for n in "$n1" "$n2"; do
  POLARGRID_MOBILE_LIB="$LIBDIR" POLARGRID_JVM_OPTS= perf stat -x, -e "$group:*" -o "$tmp/$n.stat" -- \
    scripts/mobile-run.sh "$lang" "$main" "$n" > "$tmp/$n.out" 2>&1
done
python3 - "$tmp" "$n1" "$n2" "$calls" "$lang" <<'EOF'
import sys
tmp, n1, n2, calls, lang = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
names = dict(l.split() for l in open(f"{tmp}/map"))
def load(n):
    d = {}
    for l in open(f"{tmp}/{n}.stat"):
        f = l.split(",")
        if len(f) > 2 and f[0].isdigit():
            d[f[2].split(":")[1]] = int(f[0])
    return d
a, b = load(n1), load(n2)
total = 0
for k in sorted(b, key=lambda k: -(b[k] - a.get(k, 0))):
    diff = b[k] - a.get(k, 0)
    if diff:
        total += diff
        short = names[k].replace("uniffi_polargrid_uniffi_fn_", "").replace("ffi_polargrid_uniffi_", "")
        print(f"  {diff / calls:6.2f}  {short}")
print(f"{lang}: {total / calls:.2f} FFI crossings into Rust per call (callbacks into {lang} not counted)")
EOF
