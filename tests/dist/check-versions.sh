#!/usr/bin/env bash
# Every version the sources still state by hand (user agents, __version__, package.json, the
# Gradle file) must equal the workspace's (scripts/dist-version.sh). Found by content, not by path,
# so it follows the packages when they move. Prints each place; exits 1 on a mismatch.
set -euo pipefail
cd "$(dirname "$0")/../.."
V="$(scripts/dist-version.sh)"
bad=0
check() { # file found
  local f="$1" found="$2"
  if [ "$found" = "$V" ]; then echo "  ok $f: $found"; else echo "  MISMATCH $f: $found (workspace: $V)"; bad=1; fi
}
while IFS= read -r hit; do
  check "${hit%%:*}" "$(sed -nE 's/.*polargrid-core-(kotlin|swift)\/([0-9][^"]*)".*/\2/p' <<<"${hit#*:}")"
done < <(git grep -E 'polargrid-core-(kotlin|swift)/[0-9]' -- '*.kt' '*.swift')
for f in $(git grep -lE '^__version__ = "' -- '*.py'); do
  check "$f" "$(sed -nE 's/^__version__ = "([^"]*)".*/\1/p' "$f")"
done
for f in $(git ls-files 'bindings-*/**/package.json' 'bindings-*/package.json' | grep -v -e /dev/ -e /bench/ -e /conformance/ -e /test); do
  check "$f" "$(node -p "require('./$f').version")"
done
for f in $(git ls-files '*.gradle.kts' | xargs -r grep -lE '^version = "'); do
  check "$f" "$(sed -nE 's/^version = "([^"]*)".*/\1/p' "$f")"
done
exit "$bad"
