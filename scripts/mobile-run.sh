#!/usr/bin/env bash
# Runs a built Kotlin main class or Swift executable (scripts/build-mobile.sh) on this host:
#   mobile-run.sh kotlin <MainClass> [args…]   — a JVM with JNA, coroutines and the .so on its paths
#   mobile-run.sh swift <Executable> [args…]   — through the Swift chroot's own loader and runtime
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
OUT="$PWD/target/mobile"
lang="$1"; main="$2"; shift 2
case "$lang" in
  kotlin)
    K="$POLARGRID_CACHE/kotlin/node_modules/kotlin-compiler/lib"
    # Start-up matters (one JVM per conformance scenario): client VM-like flags, class-data sharing.
    exec java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto -Xss512k \
      -Djna.library.path="$OUT/lib" -Djna.nosys=true \
      -cp "$OUT/kotlin/kit.jar:$OUT/kotlin/polargrid-core.jar:/usr/share/java/jna.jar:$K/kotlinx-coroutines-core-jvm.jar:$K/kotlin-stdlib.jar" \
      "$main" "$@" ;;
  swift)
    R="$POLARGRID_CACHE/swift-chroot"
    exec "$R/lib64/ld-linux-x86-64.so.2" \
      --library-path "$OUT/lib:$R/usr/lib/swift/linux:$R/lib/x86_64-linux-gnu:$R/usr/lib/x86_64-linux-gnu" \
      "$OUT/swift/$main" "$@" ;;
  *) echo "usage: $0 kotlin|swift MAIN [args…]" >&2; exit 2 ;;
esac
