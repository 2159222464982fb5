#!/usr/bin/env bash
# Prints, per mutated file, what cargo-mutants found in one or more mutants.out folders
# (given oldest first: a mutant's latest outcome counts, so a full run followed by an
# `--iterate` run of its misses adds up): caught, timeout (the tests hung: caught by
# cargo-mutants' timeout), missed, unviable (does not build), and
# score = (caught + timeout) / (caught + timeout + missed). Exits 1 when a file scores
# under 90 %.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 mutants.out..." >&2; exit 64; }
for d in "$@"; do
  for kind in caught timeout missed unviable; do
    if [ -f "$d/$kind.txt" ]; then sed "s/^/$kind\t/" "$d/$kind.txt"; fi
  done
done | {
  # Mutants excluded since (.cargo/mutants.toml exclude_re) are not counted.
  excluded=$(sed -n "s/^ *'\(.*\)',\$/\1/p" "$(dirname "$0")/../.cargo/mutants.toml" | paste -sd'|')
  if [ -n "$excluded" ]; then grep -Ev -- "$excluded" || true; else cat; fi
} | awk -F'\t' '
  { last[$2] = $1 }
  END {
    for (m in last) { f = m; sub(/:.*/, "", f); n[f, last[m]]++; files[f] = 1 }
    printf "%-24s %7s %7s %7s %8s %6s\n", "file", "caught", "timeout", "missed", "unviable", "score"
    bad = 0
    for (f in files) {
      c = n[f, "caught"] + 0; t = n[f, "timeout"] + 0; m = n[f, "missed"] + 0; u = n[f, "unviable"] + 0
      s = (c + t + m) ? 100 * (c + t) / (c + t + m) : 100
      printf "%-24s %7d %7d %7d %8d %5.1f%%\n", f, c, t, m, u, s | "sort"
      if (s < 90) bad = 1
    }
    close("sort")
    exit bad
  }'
