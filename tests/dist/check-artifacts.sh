#!/usr/bin/env bash
# Checks what `make dist` left in DIR against VERSION, without installing anything (dist-check
# installs): every artifact carries the version; the wheels have the README as long description,
# the project links, the licenses, a native library with no debug info but with uniffi's metadata
# symbols, and the platform tag auditwheel agrees with; the npm tarball has README, LICENSE,
# types and the wasm; the jar has its manifest version and both native libraries; SHA256SUMS
# matches. Prints a table of sizes. Usage: check-artifacts.sh DIR VERSION
set -euo pipefail
DIR="$1"; V="$2"
. "$(dirname "$0")/../../scripts/env.sh"
AW="$POLARGRID_CACHE/venv-dist/bin/auditwheel"
T="$(mktemp -d)"; trap 'rm -rf "$T"' EXIT
fails=0
# DIST_ONLY: the kinds built (scripts/dist.sh passes its list); a kind not built is not missing.
wanted() { [[ " ${DIST_ONLY:-wheels sdist npm jar ios} " == *" $1 "* ]]; }
fail() { echo "  FAIL $*" >&2; fails=$((fails + 1)); }
has() { grep -q -- "$2" "$1" || fail "$(basename "$(dirname "$1")")/$(basename "$1") lacks: $2"; }

# A native library: stripped of debug info, uniffi metadata kept, the expected machine.
check_so() { # file machine-regexp
  local f="$1" m="$2"
  readelf -h "$f" | grep -E >/dev/null "Machine: +$m" || fail "$f: not $m"
  if readelf -S -W "$f" | grep >/dev/null '\.debug_'; then fail "$f: has debug sections"; fi
  [ "$(readelf -s -W "$f" | grep -c 'UNIFFI_META_')" -gt 0 ] || fail "$f: no UNIFFI_META_ symbols (stripped too far)"
}

n=0
for w in "$DIR"/polargrid_core-"$V"-py3-none-{manylinux2014_x86_64.manylinux_2_17_x86_64,manylinux2014_aarch64.manylinux_2_17_aarch64,musllinux_1_2_x86_64,musllinux_1_2_aarch64}.whl; do
  [ -f "$w" ] || { wanted wheels && fail "missing $(basename "$w")"; continue; }
  n=$((n + 1))
  d="$T/$(basename "$w")"; mkdir -p "$d"; (cd "$d" && unzip -q "$w")
  meta="$d/polargrid_core-$V.dist-info/METADATA"
  has "$meta" "^Version: $V\$"
  has "$meta" '^Description-Content-Type: text/markdown'
  has "$meta" '^# polargrid-core for Python'
  has "$meta" '^Project-URL: Homepage, '
  has "$meta" '^Requires-Dist: httpx'
  ls "$d/polargrid_core-$V.dist-info/licenses/"LICENSE-MIT >/dev/null 2>&1 || ls "$d/polargrid_core-$V.dist-info/"*/LICENSE-MIT >/dev/null 2>&1 || fail "$w: no LICENSE-MIT"
  case "$w" in *aarch64*) m=AArch64 ;; *) m='Advanced Micro Devices X86-64' ;; esac
  so="$(find "$d/polargrid_core" -name 'libpolargrid_uniffi*.so' | head -1)"
  [ -n "$so" ] || { fail "$w: no native library"; continue; }
  check_so "$so" "$m"
  tag="$(basename "$w" .whl | sed 's/.*-py3-none-//')"
  case "$tag" in
    musllinux*)
      # The library needs musl's libc alone, by the name musl systems give it, and no glibc
      # symbol version; auditwheel (on this glibc host) finds musl's libc through --ldpaths:
      # Debian's musl for the wheel's machine (scripts/install-dist-roots.sh), under that name.
      arch="${tag#musllinux_1_2_}"
      [ "$(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')" = "libc.musl-$arch.so.1 " ] || fail "$w: needs more than musl's libc.musl-$arch.so.1"
      if readelf -V "$so" | grep >/dev/null GLIBC_; then fail "$w: references glibc symbol versions"; fi
      case "$arch" in
        x86_64) loader=/lib/ld-musl-x86_64.so.1 ;;
        *) loader="$POLARGRID_CACHE/debian11-arm64/lib/ld-musl-aarch64.so.1" ;;
      esac
      mkdir -p "$T/musl-$arch" && ln -sf "$(readlink -f "$loader")" "$T/musl-$arch/libc.musl-$arch.so.1"
      "$AW" show --ldpaths "$T/musl-$arch" "$w" > "$T/aw" 2>&1 || true
      grep -q "consistent with the following platform tag: \"$tag\"" < <(tr '\n' ' ' < "$T/aw") ||
        { fail "$w: auditwheel does not place it on $tag"; cat "$T/aw" >&2; } ;;
    *)
      want="${tag#*.}"
      "$AW" show "$w" > "$T/aw" 2>&1 || true
      grep -q "\"${want}\"" "$T/aw" || { fail "$w: auditwheel does not place it on $want"; cat "$T/aw" >&2; } ;;
  esac
  grep -q "polargrid_core/_native/polargrid_uniffi.py" < <(unzip -l "$w") || fail "$w: no generated uniffi glue"
done

sd="$DIR/polargrid_core-$V.tar.gz"
if [ -f "$sd" ]; then
  tar -xzf "$sd" -C "$T"
  has "$T/polargrid_core-$V/PKG-INFO" "^Version: $V\$"
  has "$T/polargrid_core-$V/PKG-INFO" '^# polargrid-core for Python'
  tar -tzf "$sd" > "$T/sdist"
  grep -q '/core/src/lib.rs$' "$T/sdist" || fail "sdist lacks the core's sources"
elif wanted sdist; then fail "missing $(basename "$sd")"; fi

tgz="$DIR/polargrid-core-$V.tgz"
if [ -f "$tgz" ]; then
  tar -tzf "$tgz" > "$T/npm"
  for f in package/package.json package/README.md package/LICENSE package/index.js package/index.d.ts package/polargrid_wasm.js package/polargrid_wasm_bg.wasm; do
    grep -qx "$f" "$T/npm" || fail "npm tarball lacks $f"
  done
  [ "$(tar -xzOf "$tgz" package/package.json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).version))')" = "$V" ] || fail "npm tarball: version is not $V"
elif wanted npm; then fail "missing $(basename "$tgz")"; fi

jar="$DIR/polargrid-core-$V.jar"
if [ -f "$jar" ]; then
  unzip -p "$jar" META-INF/MANIFEST.MF | grep >/dev/null "^Implementation-Version: $V" || fail "jar manifest: version is not $V"
  unzip -l "$jar" > "$T/jar"
  for f in linux-x86-64/libpolargrid_uniffi.so linux-aarch64/libpolargrid_uniffi.so META-INF/LICENSE-MIT ai/polargrid/core/PolarGrid.class; do
    grep -q " $f\$" "$T/jar" || fail "jar lacks $f"
  done
  mkdir -p "$T/jarx" && (cd "$T/jarx" && unzip -q "$jar" 'linux-*')
  check_so "$T/jarx/linux-x86-64/libpolargrid_uniffi.so" 'Advanced Micro Devices X86-64'
  check_so "$T/jarx/linux-aarch64/libpolargrid_uniffi.so" AArch64
  unzip -l "$DIR/polargrid-core-$V-sources.jar" | grep >/dev/null 'PolarGrid.kt$' || fail "sources jar lacks PolarGrid.kt"
  grep -q "<version>$V</version>" "$DIR/polargrid-core-$V.pom" || fail "pom: version is not $V"
elif wanted jar; then fail "missing $(basename "$jar")"; fi

ios="$DIR/polargrid-core-ios-$V.zip"
if [ -f "$ios" ]; then
  (cd "$T" && unzip -q "$ios")
  r="$T/polargrid-core-ios-$V"
  lipo="$(command -v llvm-lipo || command -v llvm-lipo-14)"
  # Each slice's objects: Mach-O for the right CPU, built for the right platform (LC_BUILD_VERSION:
  # 2 = iOS, 7 = iOS simulator; an x86_64 iOS object is a simulator one whichever it carries), and
  # the uniffi functions the generated Swift calls.
  macho() { # archive -> "cpu platform" of its polargrid_uniffi object
    mkdir -p "$T/o" && rm -f "$T"/o/* && (cd "$T/o" && ar x "$1" "$(ar t "$1" | grep -m1 'polargrid_uniffi.*\.o$')")
    python3 - "$T"/o/*.o <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
magic, cpu, _, _, ncmds = struct.unpack("<IiiII", d[:20])
off, plat = 32, "?"
for _ in range(ncmds):
    cmd, size = struct.unpack("<II", d[off:off + 8])
    if cmd == 0x32:  # LC_BUILD_VERSION: its platform
        plat = struct.unpack("<I", d[off + 8:off + 12])[0]
    elif cmd == 0x25:  # LC_VERSION_MIN_IPHONEOS (older deployment targets): iOS
        plat = 2
    off += size
print({0x0100000C: "arm64", 0x01000007: "x86_64"}.get(cpu, hex(cpu)), plat)
PY
  }
  dev="$r/ios-arm64/libpolargrid_uniffi.a"
  [ "$(macho "$dev")" = "arm64 2" ] || fail "iOS device library: not arm64 for iOS ($(macho "$dev"))"
  sim="$r/ios-arm64_x86_64-simulator/libpolargrid_uniffi.a"
  for arch in arm64 x86_64; do
    "$lipo" "$sim" -thin "$arch" -output "$T/sim-$arch.a" || { fail "iOS simulator library lacks $arch"; continue; }
    case "$arch $(macho "$T/sim-$arch.a")" in "arm64 arm64 7"|"x86_64 x86_64 2"|"x86_64 x86_64 7") ;; *) false ;; esac || fail "iOS simulator $arch slice: not for the simulator ($(macho "$T/sim-$arch.a"))"
  done
  for a in "$dev" "$T/sim-arm64.a"; do
    [ "$(LC_ALL=C grep -a -o '_uniffi_polargrid_uniffi_fn_[a-z_0-9]*' "$a" | sort -u | wc -l)" -gt 0 ] || fail "$a: no uniffi functions"
  done
  for f in include/PolarGridCoreFFI.h include/module.modulemap Sources/PolarGridUniFFI/PolarGridUniFFI.swift Sources/PolarGridCore/PolarGrid.swift LICENSE-MIT; do
    [ -f "$r/$f" ] || fail "iOS archive lacks $f"
  done
  grep -q "$V" "$r/Sources/PolarGridCore/PolarGrid.swift" || fail "iOS archive: PolarGrid.swift does not carry $V"
elif wanted ios; then fail "missing $(basename "$ios")"; fi

(cd "$DIR" && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not match"
echo "target/dist ($n wheels):" >&2
(cd "$DIR" && for f in *; do printf '  %9s  %s\n' "$(stat -c %s "$f" | numfmt --to=iec --suffix=B)" "$f"; done) >&2
[ "$fails" = 0 ] || { echo "check-artifacts: $fails failures" >&2; exit 1; }
echo "check-artifacts: every artifact carries $V" >&2
