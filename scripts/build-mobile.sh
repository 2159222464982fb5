#!/usr/bin/env bash
# Builds the Kotlin and Swift packages from a checkout: the uniffi crate (host .so + uniffi-bindgen),
# the generated glue (never committed), then kotlinc / swiftc. Each step is skipped when its inputs
# did not change (a stamp of their hashes under target/mobile). Usage: build-mobile.sh [kotlin|swift|all]
# Prints each step's time to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
WHAT="${1:-all}"
ROOT_DIR="$PWD"
OUT="$ROOT_DIR/target/mobile"
mkdir -p "$OUT/lib" "$OUT/gen" "$OUT/kotlin" "$OUT/swift"
KHOME="$POLARGRID_CACHE/kotlin/node_modules/kotlin-compiler"
SWIFT_ROOT="$POLARGRID_CACHE/swift-chroot"
JNA=/usr/share/java/jna.jar
OKHTTP=/usr/share/java/okhttp.jar:/usr/share/java/okio.jar

t() { local s=$SECONDS; "$@"; echo "  [$(( SECONDS - s )) s] $*" | cut -c1-120 >&2; }
# stamp NAME FILES… : true (and records) when the hash of FILES changed since the last run.
changed() {
  local name="$1"; shift
  local h; h="$(cat "$@" 2>/dev/null | sha256sum | cut -c1-32)"
  if [ -f "$OUT/$name.stamp" ] && [ "$(cat "$OUT/$name.stamp")" = "$h" ]; then return 1; fi
  echo "$h" > "$OUT/$name.stamp.new"; return 0
}
done_stamp() { mv "$OUT/$1.stamp.new" "$OUT/$1.stamp"; }

# 1. The uniffi crate: the cdylib the bindings load and the bindgen that reads its metadata.
#    (POLARGRID_UNIFFI_TARGET: use a crate already built elsewhere, e.g. while it lives on another branch.)
UT="${POLARGRID_UNIFFI_TARGET:-target/debug}"
cargo_build() {
  [ -n "${POLARGRID_UNIFFI_TARGET:-}" ] || { cargo build --quiet -p polargrid-uniffi --lib && cargo build --quiet -p polargrid-uniffi --features bindgen --bin uniffi-bindgen; }
  cargo build --quiet -p polargrid-emulator
}
t cargo_build
cp -u "$UT/libpolargrid_uniffi.so" "$OUT/lib/"

# 2. The generated glue, from the .so's metadata (uniffi 0.32 library mode).
gen() {
  local lang="$1" dir="$OUT/gen/$1" cfg="$2"
  if changed "gen-$lang" "$UT/libpolargrid_uniffi.so" "$cfg"; then
    rm -rf "$dir"
    "$UT/uniffi-bindgen" generate --no-format --library "$UT/libpolargrid_uniffi.so" \
      --language "$lang" --config "$cfg" --out-dir "$dir" >/dev/null
    done_stamp "gen-$lang"
  fi
}

build_kotlin() {
  scripts/install-kotlin.sh
  # The crate's config is Android's (`android = true`: API-34 SystemCleaner, androidx annotations);
  # the JVM build here generates with it off (JNA's or java.lang.ref's cleaner).
  sed 's/^android = true$/android = false/' bindings-uniffi/uniffi.toml > "$OUT/uniffi-jvm.toml"
  t gen kotlin "$OUT/uniffi-jvm.toml"
  # The Gradle layout's generated source set (gitignored), so the tree is what an IDE expects.
  rm -rf bindings-uniffi/kotlin/src/generated && mkdir -p bindings-uniffi/kotlin/src/generated && cp -r "$OUT/gen/kotlin" bindings-uniffi/kotlin/src/generated/kotlin
  local cp="$JNA:$KHOME/lib/kotlinx-coroutines-core-jvm.jar"
  # The library as Android compiles it (Java 8 bytecode); the OkHttp stack is its own jar (optional).
  local lib_src; lib_src="$(find bindings-uniffi/kotlin/src/main bindings-uniffi/kotlin/src/generated -name '*.kt' | sort)"
  if changed kotlin-lib $lib_src bindings-uniffi/kotlin/src/okhttp/kotlin/ai/polargrid/core/okhttp/*.kt; then
    # shellcheck disable=SC2086
    t "$KHOME/bin/kotlinc" -nowarn -jvm-target 1.8 -cp "$cp" -d "$OUT/kotlin/polargrid-core.jar" $lib_src
    t "$KHOME/bin/kotlinc" -nowarn -jvm-target 1.8 -cp "$cp:$OKHTTP:$OUT/kotlin/polargrid-core.jar" -d "$OUT/kotlin/polargrid-core-okhttp.jar" bindings-uniffi/kotlin/src/okhttp/kotlin/ai/polargrid/core/okhttp/*.kt
    done_stamp kotlin-lib
    rm -f "$OUT/kotlin-kit.stamp"
  fi
  local kit_src; kit_src="$(find bindings-uniffi/kotlin/src/test bindings-uniffi/kotlin/src/conformance bindings-uniffi/kotlin/src/bench examples/kotlin -name '*.kt' | sort)"
  if changed kotlin-kit $kit_src; then
    # shellcheck disable=SC2086
    t "$KHOME/bin/kotlinc" -nowarn -jvm-target 17 -cp "$cp:$OKHTTP:$OUT/kotlin/polargrid-core.jar:$OUT/kotlin/polargrid-core-okhttp.jar" -d "$OUT/kotlin/kit.jar" $kit_src
    t train_cds
    done_stamp kotlin-kit
  fi
}

# A class-data-sharing archive from one adapter run against the emulator: a JVM per conformance
# scenario then starts in about half the time (mobile-run.sh uses it when present).
train_cds() {
  rm -f "$OUT/kotlin/kit.jsa"
  local line key
  coproc EMU { exec target/debug/polargrid-emulator; }
  read -r line <&"${EMU[0]}"
  key="$(printf '%s' "$line" | sed -n 's/.*"read_write":"\([^"]*\)".*/\1/p')"
  printf '%s\n' \
    "{\"id\":1,\"cmd\":\"configure\",\"endpoints\":$line,\"mode\":\"session\",\"api_key\":\"$key\",\"seed\":1}" \
    '{"id":2,"cmd":"call","method":"POST","path":"/v1/chat/completions","body":{"model":"llama-3.1-8b","stream":true,"messages":[]},"count":2,"timeout_ms":30000}' \
    '{"id":3,"cmd":"session"}' '{"id":4,"cmd":"close"}' |
    POLARGRID_CDS_TRAIN="$OUT/kotlin/kit.jsa" scripts/mobile-run.sh kotlin ai.polargrid.core.conformance.AdapterKt >/dev/null 2>&1
  exec {EMU[1]}>&-
  wait "$EMU_PID" 2>/dev/null || true
}

# Swift: swiftc runs in the trixie chroot (it needs /proc there); the binaries run on this host
# through the chroot's own loader and libraries (scripts/mobile-run.sh), no chroot needed.
build_swift() {
  scripts/install-swift.sh
  t gen swift bindings-uniffi/uniffi.toml
  rm -rf bindings-uniffi/swift/Sources/PolarGridUniFFI bindings-uniffi/swift/Sources/PolarGridCoreFFI
  mkdir -p bindings-uniffi/swift/Sources/PolarGridUniFFI bindings-uniffi/swift/Sources/PolarGridCoreFFI
  cp "$OUT/gen/swift/PolarGridUniFFI.swift" bindings-uniffi/swift/Sources/PolarGridUniFFI/
  cp "$OUT/gen/swift/PolarGridCoreFFI.h" bindings-uniffi/swift/Sources/PolarGridCoreFFI/
  cp "$OUT/gen/swift/PolarGridCoreFFI.modulemap" bindings-uniffi/swift/Sources/PolarGridCoreFFI/module.modulemap
  local src; src="$(find bindings-uniffi/swift/Sources bindings-uniffi/swift/Tests examples/swift -name '*.swift' -o -name '*.h' -o -name '*.modulemap' | sort)"
  if ! changed swift $src "$OUT/lib/libpolargrid_uniffi.so"; then return 0; fi
  # A build dir inside the chroot named after this checkout, so two checkouts never mix.
  local tag; tag="$(echo "$ROOT_DIR" | sha256sum | cut -c1-12)"
  local b="/build/polargrid-$tag"
  # The generated module (the slowest to compile) is rebuilt only when the glue changed.
  local uni=1
  if ! changed swift-uniffi "$OUT/gen/swift/PolarGridUniFFI.swift" "$OUT/gen/swift/PolarGridCoreFFI.h" \
     && [ -f "$SWIFT_ROOT$b/out/libPolarGridUniFFI.a" ]; then uni=0; fi
  [ "$uni" = 1 ] && rm -rf "$SWIFT_ROOT$b"
  rm -rf "$SWIFT_ROOT$b/Sources" "$SWIFT_ROOT$b/Tests" "$SWIFT_ROOT$b/examples" && mkdir -p "$SWIFT_ROOT$b/out"
  cp -r bindings-uniffi/swift/Sources bindings-uniffi/swift/Tests "$SWIFT_ROOT$b/"
  mkdir -p "$SWIFT_ROOT$b/examples" && cp examples/swift/*.swift "$SWIFT_ROOT$b/examples/"
  cp "$OUT/lib/libpolargrid_uniffi.so" "$SWIFT_ROOT$b/out/"
  local mounted=0
  if ! mountpoint -q "$SWIFT_ROOT/proc"; then mount -t proc proc "$SWIFT_ROOT/proc"; mounted=1; fi
  local ffi="-Xcc -fmodule-map-file=$b/Sources/PolarGridCoreFFI/module.modulemap -I $b/out"
  local link="-L $b/out -lpolargrid_uniffi"
  local sc="chroot $SWIFT_ROOT /usr/bin/swiftc -swift-version 5 -O"
  local rc=0
  (
    set -e
    cd "$SWIFT_ROOT$b"
    if [ "$uni" = 1 ]; then
      t $sc -parse-as-library -emit-library -static -emit-module -module-name PolarGridUniFFI \
        -emit-module-path "$b/out/PolarGridUniFFI.swiftmodule" -o "$b/out/libPolarGridUniFFI.a" $ffi \
        "$b/Sources/PolarGridUniFFI/PolarGridUniFFI.swift"
    fi
    # shellcheck disable=SC2046
    # -wmo: one object file, so the linker keeps conformances nothing names (Redaction.swift's);
    # the archive is made afresh (swiftc adds to an existing one).
    rm -f "$SWIFT_ROOT$b/out/libPolarGridCore.a"
    t $sc -wmo -parse-as-library -emit-library -static -emit-module -module-name PolarGridCore \
      -emit-module-path "$b/out/PolarGridCore.swiftmodule" -o "$b/out/libPolarGridCore.a" $ffi \
      $(cd "$SWIFT_ROOT" && ls "${b#/}"/Sources/PolarGridCore/*.swift | sed 's|^|/|')
    exe() { # NAME SOURCES…
      local name="$1"; shift
      # shellcheck disable=SC2068
      t $sc -module-name "$name" $ffi $@ -L "$b/out" -lPolarGridCore -lPolarGridUniFFI $link -o "$b/out/$name"
    }
    exe PolarGridCoreTests $(cd "$SWIFT_ROOT" && ls "${b#/}"/Tests/PolarGridCoreTests/*.swift | sed 's|^|/|')
    exe ConformanceAdapter "$b/Sources/ConformanceAdapter/main.swift"
    exe Bench "$b/Sources/Bench/main.swift" "$b/Tests/PolarGridCoreTests/Emulator.swift"
    exe Quickstart "$b/examples/Quickstart.swift"
  ) || rc=$?
  [ "$mounted" = 1 ] && umount "$SWIFT_ROOT/proc"
  if [ "$rc" != 0 ]; then rm -f "$OUT/swift-uniffi.stamp"; return "$rc"; fi
  if [ -f "$OUT/swift-uniffi.stamp.new" ]; then done_stamp swift-uniffi; fi
  cp "$SWIFT_ROOT$b"/out/{PolarGridCoreTests,ConformanceAdapter,Bench,Quickstart} "$OUT/swift/"
  done_stamp swift
}

case "$WHAT" in
  kotlin) build_kotlin ;;
  swift) build_swift ;;
  all) build_kotlin; build_swift ;;
  *) echo "usage: $0 [kotlin|swift|all]" >&2; exit 2 ;;
esac
