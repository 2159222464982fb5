#!/usr/bin/env bash
# `make dist`: every release artifact this machine can build, into target/dist/, with one version
# (scripts/dist-version.sh) and a SHA256SUMS. Tools are pinned and cached (scripts/install-dist.sh).
#   polargrid_core-V-py3-none-manylinux2014_{x86_64,aarch64}.manylinux_2_17_*.whl   glibc 2.17+
#   polargrid_core-V-py3-none-musllinux_1_2_{x86_64,aarch64}.whl                     musl 1.2+
#       maturin --zig (ziglang from PyPI links against the old glibc / musl); release profile: no
#       debug info, symbol table kept (uniffi's metadata is in it)
#   polargrid_core-V.tar.gz          the sdist (builds from source where Rust is installed)
#   polargrid-core-V.tgz             npm pack of the npm package (README, LICENSE, types, wasm)
#   polargrid-core-V.jar, -sources.jar, .pom   the Kotlin/JVM package with the Linux x86_64 and
#       aarch64 native library inside (JNA loads it from the class path), its declared deps in the pom
#   polargrid-core-ios-arm64-V.tar.gz   only with DIST_ONLY naming ios: the iOS static library
#       (aarch64-apple-ios) + Swift sources and the C header/modulemap (no Xcode here: no
#       xcframework, no simulator slice; not yet run on this machine: see the dist report)
# Not built here: Android .so (needs the NDK's linker), macOS/Windows wheels (no SDKs).
# DIST_ONLY="wheels sdist npm jar ios" picks what to build (default: all but ios).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
scripts/install-dist.sh
export PATH="$POLARGRID_CACHE/venv-dist/bin:$PATH"
V="$(scripts/dist-version.sh)"
OUT="$PWD/target/dist"
STAGE="$PWD/target/dist-stage"
ONLY="${DIST_ONLY:-wheels sdist npm jar}"
want() { [[ " $ONLY " == *" $1 "* ]]; }
t() { local s=$SECONDS; "$@"; echo "  [$(( SECONDS - s )) s] $*" | cut -c1-110 >&2; }

echo "polargrid-core $V -> target/dist" >&2
tests/dist/check-versions.sh >&2
rm -rf "$OUT" "$STAGE"
mkdir -p "$OUT" "$STAGE"

# --- Python: 4 wheels + sdist -------------------------------------------------------------------
quiet() { "$@" > "$STAGE/last.log" 2>&1 || { cat "$STAGE/last.log" >&2; return 1; }; }
# Linked unstripped (scripts/dist-rustc.sh says why), then the debug info is stripped from the
# wheel's library (binutils' objcopy --strip-debug: the symbol table, uniffi's metadata, stays;
# zig's objcopy answers "unimplemented" for these) and the wheel's RECORD rewritten.
strip_wheel() {
  python3 - "$1" <<'PY'
import base64, hashlib, os, subprocess, sys, tempfile, zipfile
path = sys.argv[1]
src = zipfile.ZipFile(path)
out = {}
for info in src.infolist():
    data = src.read(info)
    if info.filename.endswith(".so"):
        with tempfile.TemporaryDirectory() as d:
            a, b = os.path.join(d, "in.so"), os.path.join(d, "out.so")
            open(a, "wb").write(data)
            machine = int.from_bytes(data[18:20], "little")  # ELF e_machine
            tool = {0x3E: "objcopy", 0xB7: "aarch64-linux-gnu-objcopy"}[machine]
            subprocess.run([tool, "--strip-debug", a, b], check=True)
            data = open(b, "rb").read()
    out[info.filename] = (info, data)
src.close()
record = next(n for n in out if n.endswith(".dist-info/RECORD"))
lines = []
for name, (info, data) in out.items():
    if name == record:
        continue
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    lines.append("%s,sha256=%s,%d" % (name, digest, len(data)))
lines.append(record + ",,")
out[record] = (out[record][0], ("\n".join(lines) + "\n").encode())
tmp = path + ".tmp"
with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
    for name, (info, data) in out.items():
        dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
os.replace(tmp, path)
PY
}
wheel() { # target compatibility
  local before; before="$(ls "$OUT"/*.whl 2>/dev/null || true)"
  RUSTC_WRAPPER="$PWD/scripts/dist-rustc.sh" quiet maturin build --release --zig --target "$1" \
    --compatibility "$2" -m bindings-uniffi/Cargo.toml --out "$OUT"
  local w
  for w in "$OUT"/*.whl; do grep -qxF "$w" <<<"$before" || strip_wheel "$w"; done
}
# The license texts live at the top; maturin takes files beside pyproject.toml.
cp LICENSE-MIT LICENSE-APACHE bindings-uniffi/
trap 'rm -f bindings-uniffi/LICENSE-MIT bindings-uniffi/LICENSE-APACHE' EXIT
if want wheels || want jar; then
  t wheel x86_64-unknown-linux-gnu manylinux2014
  t wheel aarch64-unknown-linux-gnu manylinux2014
fi
if want wheels; then
  t wheel x86_64-unknown-linux-musl musllinux_1_2
  t wheel aarch64-unknown-linux-musl musllinux_1_2
fi
if want sdist; then
  t quiet maturin sdist -m bindings-uniffi/Cargo.toml --out "$OUT"
fi

# --- npm ----------------------------------------------------------------------------------------
if want npm; then
  t scripts/build-npm.sh
  # Packed from a copy: the README and licenses join the package's own files.
  mkdir -p "$STAGE/npm"
  (cd bindings-wasm/npm && tar --exclude=node_modules -cf - .) | tar -xf - -C "$STAGE/npm"
  [ -f "$STAGE/npm/README.md" ] || cp packaging/npm/README.md "$STAGE/npm/"
  # npm packs a file named LICENSE by itself (not LICENSE-MIT): both texts in one.
  { echo "polargrid-core is licensed under MIT OR Apache-2.0, at your option. Both texts follow."
    echo; cat LICENSE-MIT; echo; cat LICENSE-APACHE; } > "$STAGE/npm/LICENSE"
  (cd "$STAGE/npm" && t npm pack --silent --pack-destination "$OUT" >/dev/null)
fi

# --- JVM: jar with the native libraries, sources jar, pom ---------------------------------------
if want jar; then
  t scripts/build-mobile.sh kotlin
  kdir="$(dirname "$(git ls-files '*build.gradle.kts' | grep -v -e '^examples/' -e '^tests/' | head -1)")"
  j="$STAGE/jar"
  mkdir -p "$j/classes" "$j/sources"
  (cd "$j/classes" && unzip -q "$OLDPWD/target/mobile/kotlin/polargrid-core.jar" && rm -rf META-INF/MANIFEST.MF)
  # JNA finds a library on the class path under its platform prefix: the manylinux2014 wheels'
  # (glibc 2.17+, debug info stripped).
  for pair in "x86_64:linux-x86-64" "aarch64:linux-aarch64"; do
    mkdir -p "$j/${pair%%:*}" "$j/classes/${pair#*:}"
    (cd "$j/${pair%%:*}" && unzip -q "$(ls "$OUT"/polargrid_core-"$V"-py3-none-*manylinux2014_"${pair%%:*}"*.whl)" 'polargrid_core/*.so')
    cp "$(find "$j/${pair%%:*}" -name '*.so' | head -1)" "$j/classes/${pair#*:}/libpolargrid_uniffi.so"
  done
  mkdir -p "$j/classes/META-INF" && cp LICENSE-MIT LICENSE-APACHE "$j/classes/META-INF/"
  printf 'Implementation-Title: polargrid-core\nImplementation-Version: %s\nImplementation-Vendor: PolarGrid\nAutomatic-Module-Name: ai.polargrid.core\n' "$V" > "$j/MANIFEST.MF"
  jar --create --file "$OUT/polargrid-core-$V.jar" --manifest "$j/MANIFEST.MF" -C "$j/classes" .
  cp -r "$kdir/src/main/kotlin/." "$j/sources/"
  [ -d "$kdir/src/generated/kotlin" ] && cp -r "$kdir/src/generated/kotlin/." "$j/sources/"
  jar --create --file "$OUT/polargrid-core-$V-sources.jar" --manifest "$j/MANIFEST.MF" -C "$j/sources" .
  # The pom: the dependencies build.gradle.kts declares, plus the Kotlin stdlib the compiler used.
  kver="$("$POLARGRID_CACHE/kotlin/node_modules/kotlin-compiler/bin/kotlinc" -version 2>&1 | sed -nE 's/.*kotlinc-jvm ([0-9.]+).*/\1/p')"
  deps="$(sed -nE 's/^ *implementation\("([^:]+):([^:]+):([^"]+)"\).*/\1 \2 \3/p' "$kdir/build.gradle.kts")"
  {
    printf '<?xml version="1.0" encoding="UTF-8"?>\n<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
    printf '  <modelVersion>4.0.0</modelVersion>\n  <groupId>ai.polargrid</groupId>\n  <artifactId>polargrid-core</artifactId>\n'
    printf '  <version>%s</version>\n  <name>polargrid-core</name>\n  <url>https://polargrid.ai</url>\n' "$V"
    printf '  <licenses><license><name>MIT</name></license><license><name>Apache-2.0</name></license></licenses>\n  <dependencies>\n'
    printf '%s\n' "$deps" "org.jetbrains.kotlin kotlin-stdlib $kver" | while read -r g a v; do
      [ -n "$g" ] && printf '    <dependency><groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version></dependency>\n' "$g" "$a" "$v"
    done
    printf '  </dependencies>\n</project>\n'
  } > "$OUT/polargrid-core-$V.pom"
fi

# --- iOS static library -------------------------------------------------------------------------
if want ios; then
  t cargo rustc --quiet -p polargrid-uniffi --lib --release --target aarch64-apple-ios --crate-type staticlib
  i="$STAGE/polargrid-core-ios-arm64-$V"
  mkdir -p "$i/lib" "$i/include" "$i/Sources/PolarGridUniFFI" "$i/Sources/PolarGridCore"
  cp target/aarch64-apple-ios/release/libpolargrid_uniffi.a "$i/lib/"
  # The Swift glue from the library's metadata (the host's build of the same crate).
  [ -x target/debug/uniffi-bindgen ] || cargo build --quiet -p polargrid-uniffi --features bindgen --bin uniffi-bindgen
  sdir="$(dirname "$(git ls-files '*Package.swift' | grep -v -e '^examples/' -e '^tests/' | head -1)")"
  cfg=bindings-uniffi/uniffi.toml; [ -f "$cfg" ] || cfg="$sdir/uniffi.toml"
  lib="$(find "$STAGE/jar/x86_64" -name '*.so' 2>/dev/null | head -1)"
  [ -n "$lib" ] || { cargo build --quiet -p polargrid-uniffi --lib; lib=target/debug/libpolargrid_uniffi.so; }
  target/debug/uniffi-bindgen generate --no-format --library "$lib" --language swift \
    --config "$cfg" --out-dir "$STAGE/swift-gen" >/dev/null
  cp "$STAGE/swift-gen/PolarGridUniFFI.swift" "$i/Sources/PolarGridUniFFI/"
  cp "$STAGE/swift-gen/PolarGridCoreFFI.h" "$i/include/"
  cp "$STAGE/swift-gen/PolarGridCoreFFI.modulemap" "$i/include/module.modulemap"
  cp "$sdir"/Sources/PolarGridCore/*.swift "$i/Sources/PolarGridCore/"
  cp LICENSE-MIT LICENSE-APACHE "$i/"
  tar -C "$STAGE" -czf "$OUT/polargrid-core-ios-arm64-$V.tar.gz" "polargrid-core-ios-arm64-$V"
fi

(cd "$OUT" && sha256sum -- * > SHA256SUMS)
DIST_ONLY="$ONLY" tests/dist/check-artifacts.sh "$OUT" "$V"
