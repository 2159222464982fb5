#!/usr/bin/env bash
# Installs Swift 6 (Debian trixie's `swiftlang`; swift.org downloads are unreachable) in a
# debootstrap chroot at $POLARGRID_CACHE/swift-chroot. Skipped when the marker written last is
# there; an interrupted earlier run is started over. Needs root (debootstrap, chroot, mount).
set -euo pipefail
. "$(dirname "$0")/env.sh"
ROOT="$POLARGRID_CACHE/swift-chroot"
MARKER="$ROOT/.polargrid-swift-ready"
[ -f "$MARKER" ] && [ -x "$ROOT/usr/bin/swiftc" ] && exit 0

if ! command -v debootstrap >/dev/null; then
  echo "installing debootstrap (apt)" >&2
  apt-get install -y -q debootstrap >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q debootstrap >/dev/null; }
fi
# A half-built chroot from an interrupted run: unmount anything left inside, then start over.
if [ -e "$ROOT" ]; then
  echo "removing an unfinished swift chroot at $ROOT" >&2
  for m in $(awk -v r="$ROOT" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r); do umount -l "$m" || true; done
  rm -rf --one-file-system "$ROOT"
fi
echo "debootstrap trixie into $ROOT (~1.5 min)" >&2
debootstrap --variant=minbase trixie "$ROOT" http://deb.debian.org/debian >/dev/null
mount -t proc proc "$ROOT/proc"
trap 'umount "$ROOT/proc" 2>/dev/null || true' EXIT
echo "apt-get install swiftlang in the chroot (~2 min)" >&2
chroot "$ROOT" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends swiftlang libc6-dev >/dev/null
chroot "$ROOT" /usr/bin/swiftc --version >&2
chroot "$ROOT" apt-get clean
touch "$MARKER"
