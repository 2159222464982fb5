#!/usr/bin/env bash
# The core's dependency list must stay one you could read aloud, with nothing that does IO.
# Adding a crate to core/ means adding it here, on purpose, in review.
set -euo pipefail
cd "$(dirname "$0")/.."
allowed="polargrid-core proc-macro2 quote syn thiserror thiserror-impl unicode-ident"
actual=$(cargo tree -p polargrid-core -e normal,build --prefix none --format "{p}" | awk '{print $1}' | sort -u | tr '\n' ' ')
extra=""
for crate in $actual; do
  case " $allowed " in *" $crate "*) ;; *) extra="$extra $crate" ;; esac
done
if [ -n "$extra" ]; then
  echo "core/ gained dependencies that are not on the reviewed list:$extra" >&2
  echo "(direct: thiserror; the rest are its own dependencies; JSON is core/src/json.rs, base64url in core/src/jwt.rs)" >&2
  exit 1
fi
echo "core dependencies ok: thiserror (+ their own: $(echo "$actual" | wc -w) crates in all, none doing IO)"
