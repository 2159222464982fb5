#!/usr/bin/env bash
# Runs a built Kotlin main class or Swift executable (scripts/build-mobile.sh) on this host:
#   mobile-run.sh kotlin <MainClass> [args…]   — a JVM with JNA, coroutines and the .so on its paths
#   mobile-run.sh swift <Executable> [args…]   — through the Swift chroot's own loader and runtime
# POLARGRID_MOBILE_LIB: the directory of the libpolargrid_uniffi.so to load (default target/mobile/lib,
# the debug build the glue was generated from; a release build of the same source has the same
# interface: `make bench-mobile` measures that one, as apps ship it).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
OUT="$PWD/target/mobile"
export POLARGRID_EMULATOR="${POLARGRID_EMULATOR:-$PWD/target/debug/polargrid-emulator}"
LIB="${POLARGRID_MOBILE_LIB:-$OUT/lib}"
lang="$1"; main="$2"; shift 2
case "$lang" in
  kotlin)
    K="$POLARGRID_CACHE/kotlin/node_modules/kotlin-compiler/lib"
    # Start-up matters (one JVM per conformance scenario): client VM-like flags and the class-data
    # archive build-mobile.sh trains. JVM log lines go to stderr: stdout is the adapter protocol's.
    cds=()
    if [ -n "${POLARGRID_CDS_TRAIN:-}" ]; then cds=(-XX:ArchiveClassesAtExit="$POLARGRID_CDS_TRAIN")
    elif [ -f "$OUT/kotlin/kit.jsa" ]; then cds=(-XX:SharedArchiveFile="$OUT/kotlin/kit.jsa"); fi
    # POLARGRID_JVM_OPTS replaces the start-up flags (the bench wants the full JIT).
    # http.KeepAlive.remainingData=0: an abandoned HttpURLConnection body closes its socket at once
    # (the JDK's default drains it for up to 5 s; UrlConnectionStack's docs).
    # shellcheck disable=SC2086
    exec java -Xlog:disable -Xlog:all=warning:stderr ${POLARGRID_JVM_OPTS--XX:+UseSerialGC -XX:TieredStopAtLevel=1} -Xshare:auto "${cds[@]}" \
      -Djna.library.path="$LIB" -Djna.nosys=true -Dhttp.KeepAlive.remainingData=0 \
      -cp "$OUT/kotlin/kit.jar:$OUT/kotlin/polargrid-core.jar:$OUT/kotlin/polargrid-core-okhttp.jar:/usr/share/java/jna.jar:/usr/share/java/okhttp.jar:/usr/share/java/okio.jar:$K/kotlinx-coroutines-core-jvm.jar:$K/kotlin-stdlib.jar" \
      "$main" "$@" ;;
  swift)
    R="$POLARGRID_CACHE/swift-chroot"
    exec "$R/lib64/ld-linux-x86-64.so.2" \
      --library-path "$LIB:$R/usr/lib/swift/linux:$R/lib/x86_64-linux-gnu:$R/usr/lib/x86_64-linux-gnu" \
      "$OUT/swift/$main" "$@" ;;
  *) echo "usage: $0 kotlin|swift MAIN [args…]" >&2; exit 2 ;;
esac
