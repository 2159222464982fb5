#!/usr/bin/env bash
# Records benchmark figures for the one table `make bench` ends with (scripts/bench-summary.sh).
# Printed, never asserted: a figure over its budget is shown as such, nothing fails.
#
#   scripts/bench-record.sh FIGURE VALUE UNIT BASELINE BUDGET [NOTE]
#       appends one figure. FIGURE: a name (spaces allowed, no tabs; one figure per name, the
#       last recorded wins). VALUE: a number. UNIT: µs, ns/op, ×, KiB, ms, … BASELINE: the
#       number to compare with (the figure before the work, the issue's starting point), or -.
#       BUDGET: <=N, <N, >=N, >N, or - (none).
#   scripts/bench-record.sh --run COMMAND [ARG ...]
#       runs COMMAND; each line it prints on stdout of the form
#         bench-figure<TAB>FIGURE<TAB>VALUE<TAB>UNIT<TAB>BASELINE<TAB>BUDGET[<TAB>NOTE]
#       is recorded (and not shown); every other line passes through. Exits with COMMAND's
#       status. This is how a bench written in any language records: it prints that line.
#   scripts/bench-record.sh --reset
#       empties the file (`make bench` starts with it).
#
# The file: $BENCH_FIGURES, default ${CARGO_TARGET_DIR:-target}/bench/figures.tsv (relative
# to the repository root), one figure a line: FIGURE VALUE UNIT BASELINE BUDGET NOTE, tabs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
file="${BENCH_FIGURES:-${CARGO_TARGET_DIR:-target}/bench/figures.tsv}"
case "$file" in /*) ;; *) file="$root/$file" ;; esac
mkdir -p "$(dirname "$file")"

die() {
  echo "bench-record: $*" >&2
  exit 2
}

number() { [[ "$1" =~ ^-?[0-9]+([.][0-9]+)?([eE][-+]?[0-9]+)?$ ]]; }

# Checks one figure's fields: prints what is wrong, if anything.
check() {
  if [ $# -lt 5 ] || [ $# -gt 6 ]; then
    echo "want FIGURE VALUE UNIT BASELINE BUDGET [NOTE], got $# fields: $*"
    return
  fi
  local figure=$1 value=$2 unit=$3 baseline=$4 budget=$5 note=${6:-}
  if [ -z "$figure" ]; then
    echo "empty figure name"
  elif [[ "$figure$unit$note" == *[$'\t\n']* ]]; then
    echo "tab or newline in a field of '$figure'"
  elif ! number "$value"; then
    echo "'$figure': value '$value' is not a number"
  elif [ -z "$unit" ]; then
    echo "'$figure': empty unit (say x or count)"
  elif [ "$baseline" != - ] && ! number "$baseline"; then
    echo "'$figure': baseline '$baseline' is not a number or -"
  elif [ "$budget" != - ] && ! [[ "$budget" =~ ^(\<=|\<|\>=|\>)-?[0-9]+([.][0-9]+)?$ ]]; then
    echo "'$figure': budget '$budget' is not <=N, <N, >=N, >N or -"
  fi
}

record() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "${6:-}" >>"$file"
}

# Passes a command's output through, recording its bench-figure lines (a malformed one is
# shown with what is wrong, never fatal: the bench goes on).
filter() {
  local line fields why
  while IFS= read -r line || [ -n "$line" ]; do
    if [[ "$line" == bench-figure$'\t'* ]]; then
      IFS=$'\t' read -r -a fields <<<"${line#bench-figure$'\t'}"
      why=$(check "${fields[@]}")
      if [ -z "$why" ]; then
        record "${fields[@]}"
      else
        echo "bench-record: not recorded: $why" >&2
      fi
    else
      printf '%s\n' "$line"
    fi
  done
}

case "${1:-}" in
  --reset)
    : >"$file"
    ;;
  --run)
    shift
    [ $# -ge 1 ] || die "--run needs a command"
    # Python line-buffers its stdout into the pipe, so progress still shows as it comes.
    export PYTHONUNBUFFERED=1
    set +e
    "$@" | filter
    status=("${PIPESTATUS[@]}")
    set -e
    exit "${status[0]}"
    ;;
  -h | --help | '')
    sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
    [ $# -ge 1 ] || exit 2
    ;;
  *)
    why=$(check "$@")
    [ -z "$why" ] || die "$why"
    record "$@"
    ;;
esac
