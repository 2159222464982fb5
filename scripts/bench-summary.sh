#!/usr/bin/env bash
# The table `make bench` ends with: every figure recorded by scripts/bench-record.sh in this
# run, beside its baseline and budget. Printed, never asserted: always exits 0 (unless the
# file cannot be read).
#
#   scripts/bench-summary.sh [FILE]     (default: what bench-record.sh writes)
#
# Columns: figure; now (value and unit); baseline; change (now vs baseline, in %); budget;
# within budget (yes / NO / - when there is no budget). A figure recorded twice shows its
# last value, in the place it was first recorded.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
file="${1:-${BENCH_FIGURES:-${CARGO_TARGET_DIR:-target}/bench/figures.tsv}}"
case "$file" in /*) ;; *) file="$root/$file" ;; esac
if [ ! -s "$file" ]; then
  echo "== bench summary: no figures recorded ($file is empty or missing)"
  exit 0
fi
# Byte semantics (LC_ALL=C) in every awk, and widths counted without UTF-8 continuation
# bytes, so µ and × do not shift the columns.
LC_ALL=C awk -F '\t' '
function width(s,   t) { t = s; gsub(/[\200-\277]/, "", t); return length(t) }
function pad(s, n) { return s sprintf("%" (n - width(s) > 0 ? n - width(s) : 0) "s", "") }
function lpad(s, n) { return sprintf("%" (n - width(s) > 0 ? n - width(s) : 0) "s", "") s }
function num(v) { v += 0; return (v >= 1000 || v <= -1000) ? sprintf("%.0f", v) : sprintf("%.4g", v) }
function within(v, b,   op, n) {
  if (b == "-" || b == "") return "-"
  match(b, /^[<>]=?/); op = substr(b, 1, RLENGTH); n = substr(b, RLENGTH + 1) + 0; v += 0
  if (op == "<=") return v <= n ? "yes" : "NO"
  if (op == "<") return v < n ? "yes" : "NO"
  if (op == ">=") return v >= n ? "yes" : "NO"
  return v > n ? "yes" : "NO"
}
NF >= 5 {
  if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
  value[$1] = $2; unit[$1] = $3; base[$1] = $4; budget[$1] = $5; note[$1] = $6
}
END {
  printf "== bench summary: %d figures, from %s\n", n, FILENAME
  h[1] = "figure"; h[2] = "now"; h[3] = "baseline"; h[4] = "change"; h[5] = "budget"; h[6] = "within"
  for (c = 1; c <= 6; c++) w[c] = width(h[c])
  for (i = 1; i <= n; i++) {
    f = order[i]; u = unit[f]
    cell[i, 1] = f
    cell[i, 2] = num(value[f]) " " u
    cell[i, 3] = base[f] == "-" ? "-" : num(base[f]) " " u
    cell[i, 4] = (base[f] == "-" || base[f] + 0 == 0) ? "-" : sprintf("%+.0f%%", 100 * (value[f] - base[f]) / base[f])
    cell[i, 5] = budget[f] == "-" ? "-" : budget[f] " " u
    cell[i, 6] = within(value[f], budget[f])
    for (c = 1; c <= 6; c++) if (width(cell[i, c]) > w[c]) w[c] = width(cell[i, c])
  }
  line = pad(h[1], w[1])
  for (c = 2; c <= 6; c++) line = line "  " (c == 6 ? pad(h[c], w[c]) : lpad(h[c], w[c]))
  print line
  over = 0
  for (i = 1; i <= n; i++) {
    line = pad(cell[i, 1], w[1])
    for (c = 2; c <= 6; c++) line = line "  " (c == 6 ? pad(cell[i, c], w[c]) : lpad(cell[i, c], w[c]))
    if (note[order[i]] != "") line = line "  " note[order[i]]
    sub(/ +$/, "", line)
    print line
    if (cell[i, 6] == "NO") over++
  }
  printf "%d of %d figures with a budget are over it (printed, not asserted)\n", over, budgeted()
}
function budgeted(   i, k) { k = 0; for (i = 1; i <= n; i++) if (budget[order[i]] != "-") k++; return k }
' "$file"
