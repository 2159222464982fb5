#!/usr/bin/env bash
# Fails when the Kotlin package uses a JDK API that Android lacks at the package's minSdk (21).
# No Android API jar is reachable here (TOOLCHAIN.md), so the check is, in order:
#  1. compile what an Android app compiles (the hand-written layer, the OkHttp stack and the uniffi
#     glue generated with the `android = true` config) with kotlinc `-jvm-target 1.8
#     -Xjdk-release=1.8`: any Java 9+ class or method (readNBytes, List.of, covariant ByteBuffer
#     returns, java.lang.ref.Cleaner, java.net.http, …) is a compile error;
#  2. `jdeps`: the classes depend on module java.base only (never java.net.http);
#  3. a denylist over `javap -c -p` of every class: Java 8 APIs Android adds only at API 24-33
#     (java.time, java.util.function/stream, Optional, CompletableFuture, default methods of
#     Map/Iterable/Collection, ConcurrentHashMap.keySet's KeySetView, …). D8 backports Java 8
#     *static* helpers (Long.hashCode, Objects.*, Math.*Exact) at any minSdk, so they are allowed.
# The denylist is first run over a JDK class known to use java.time, so a check that can no longer
# fail fails. The glue is generated with `disable_java_cleaner = true` added: the only difference from
# the shipped `android = true` glue is uniffi's own cleaner choice (android.system.SystemCleaner,
# gated by @RequiresApi(34); JNA's cleaner below), which needs Android classes to compile.
# Usage: check-android-api.sh (after scripts/build-mobile.sh kotlin). Prints what it found.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
OUT="$PWD/target/mobile"
UT="${POLARGRID_UNIFFI_TARGET:-target/debug}"
KHOME="$POLARGRID_CACHE/kotlin/node_modules/kotlin-compiler"
MIN_SDK=21
WORK="$OUT/android-check"
rm -rf "$WORK" && mkdir -p "$WORK/classes"

# What an Android app cannot call at API 21 (javap's spelling). Each line: a regex, then why.
DENY="$WORK/denylist"
cat > "$DENY" <<'EOF'
java/net/http/	java.net.http: no Android level has it
java/time/	java.time: API 26 (or the app's desugaring); retryAfter is a Long of ms
java/util/function/	java.util.function: API 24
java/util/stream/	java.util.stream: API 24
java/util/Optional	java.util.Optional: API 24
java/util/concurrent/CompletableFuture	CompletableFuture: API 24
java/util/concurrent/CompletionStage	CompletionStage: API 24
ConcurrentHashMap\$KeySetView	ConcurrentHashMap.keySet() KeySetView: API 24
java/lang/ref/Cleaner	java.lang.ref.Cleaner: API 33
java/lang/invoke/StringConcatFactory	indy string concatenation: API 26
java/util/Base64	java.util.Base64: API 26
java/util/(Map|HashMap|LinkedHashMap|Collection|List|Iterable|ArrayList)\.(forEach|getOrDefault|putIfAbsent|computeIfAbsent|computeIfPresent|compute|merge|replaceAll|removeIf|stream|spliterator):	Java 8 default methods of collections: API 24
java/io/InputStream\.(readNBytes|readAllBytes|transferTo|nullInputStream)	InputStream Java 9+ methods: API 33
java/lang/String\.(isBlank|strip|stripLeading|stripTrailing|lines|repeat|chars):	String methods newer than API 21 (Java 9-11; chars: API 24)
EOF

# denied FILE: prints each denied reference in a javap dump (FILE), with why; true if any.
denied() {
  local found=1 pat why
  while IFS=$'\t' read -r pat why; do
    if grep -Eq "$pat" "$1"; then
      found=0
      echo "  DENIED ($why):"
      grep -E "$pat" "$1" | sed 's/^ */    /' | sort -u | head -5
    fi
  done < "$DENY"
  return "$found"
}

# 0. The denylist can fail: a JDK class that uses java.time must be caught.
javap -c -p java.nio.file.attribute.FileTime > "$WORK/selftest.txt"
if ! denied "$WORK/selftest.txt" >/dev/null; then
  echo "check-android-api: the denylist no longer catches java.time in FileTime: the check is broken" >&2
  exit 1
fi

# 1. Compile as Android would (Java 8 API only).
sed 's/^android = true$/android = true\ndisable_java_cleaner = true/' bindings-uniffi/uniffi.toml > "$WORK/uniffi-android.toml"
grep -q '^android = true$' "$WORK/uniffi-android.toml" || { echo "check-android-api: uniffi.toml lacks 'android = true' in its kotlin section" >&2; exit 1; }
"$UT/uniffi-bindgen" generate --no-format --library "$UT/libpolargrid_uniffi.so" --language kotlin \
  --config "$WORK/uniffi-android.toml" --out-dir "$WORK/gen" >/dev/null
K="$KHOME/lib"
# shellcheck disable=SC2046
"$KHOME/bin/kotlinc" -nowarn -jvm-target 1.8 -Xjdk-release=1.8 \
  -cp "/usr/share/java/jna.jar:$K/kotlinx-coroutines-core-jvm.jar:/usr/share/java/okhttp.jar:/usr/share/java/okio.jar" \
  -d "$WORK/classes" $(find bindings-uniffi/kotlin/src/main bindings-uniffi/kotlin/src/okhttp "$WORK/gen" -name '*.kt' | sort)

# 2. Modules: java.base only.
jdeps -s --multi-release 9 -cp "/usr/share/java/jna.jar:$K/kotlinx-coroutines-core-jvm.jar:$K/kotlin-stdlib.jar:/usr/share/java/okhttp.jar:/usr/share/java/okio.jar" \
  "$WORK/classes" > "$WORK/jdeps.txt" 2>&1 || true
modules="$(grep -Eo -- '-> java\.[a-z.]+' "$WORK/jdeps.txt" | sort -u | tr '\n' ' ' || true)"
echo "check-android-api: JDK modules used: $modules"
if [ "$modules" != "-> java.base " ]; then
  echo "check-android-api: FAILED: the package needs a JDK module Android lacks ($modules)" >&2
  exit 1
fi

# 3. The denylist over every class.
find "$WORK/classes" -name '*.class' | sort | xargs javap -c -p > "$WORK/javap.txt"
n="$(find "$WORK/classes" -name '*.class' | wc -l)"
if denied "$WORK/javap.txt"; then
  echo "check-android-api: FAILED: $n classes checked, the references above need more than API $MIN_SDK" >&2
  exit 1
fi
echo "check-android-api: ok: $n classes compile against the Java 8 API and use nothing Android adds after API $MIN_SDK"
