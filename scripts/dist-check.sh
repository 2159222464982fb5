#!/usr/bin/env bash
# `make dist-check` (part of `make test`): builds the release artifacts (scripts/dist.sh; warm, only
# what changed), then installs each one the way its users do, in a temporary folder outside the
# checkout, and runs a smoke test against the emulator:
#   wheel manylinux2014 x86_64   pip install into a fresh venv here (CPython 3.11, glibc 2.36)
#                                AND into a venv in a Debian 11 root (CPython 3.9, glibc 2.31)
#   wheel manylinux2014 aarch64  its package run by Debian 11 arm64's CPython under qemu-user-static
#   wheels musllinux_1_2         its library loaded and called by musl's loader (Debian 11's musl
#                                1.2.2: x86_64 here, aarch64 under qemu-user-static; no Alpine
#                                root is reachable); auditwheel show places both on musllinux_1_2
#                                (check-artifacts, with Debian's musl as --ldpaths)
#   sdist                        pip install in a fresh venv (builds from source with cargo) —
#                                DIST_CHECK_SDIST=1 (slow: a release build of the crate)
#   npm tarball                  npm install into a fresh Node project; a handoff and a session call
#   jar                          the Kotlin quickstart compiled against it and run on a bare JVM with
#                                only the pom's dependencies on the class path (the native library
#                                comes out of the jar)
# Prints one line per check and "dist-check: N passed, N failed".
# DIST_CHECK_BUILD=0 DIST_DIR=<folder>: check artifacts built before (no `make dist` first).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
ROOT="$PWD"
V="$(scripts/dist-version.sh)"
DIST="${DIST_DIR:-$ROOT/target/dist}"
KHOME="$POLARGRID_CACHE/kotlin/node_modules/kotlin-compiler"
t() { local s=$SECONDS; "$@"; echo "  [$(( SECONDS - s )) s] $*" | cut -c1-110 >&2; }

t scripts/install-dist-roots.sh
# DIST_CHECK_BUILD=0 with DIST_DIR=<folder>: check artifacts built before, without building.
# Not the iOS zip: nothing here can install or run it (make dist builds and inspects it).
[ "${DIST_CHECK_BUILD:-1}" = 0 ] || DIST_ONLY="${DIST_ONLY:-wheels sdist npm jar}" t scripts/dist.sh
cargo build --quiet -p polargrid-emulator

W="$(mktemp -d /tmp/polargrid-dist-check.XXXXXX)"
MOUNTED=()
EMU=
cleanup() {
  for m in ${MOUNTED[@]+"${MOUNTED[@]}"}; do umount "$m" 2>/dev/null || true; done
  [ -n "$EMU" ] && kill "$EMU" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

passed=0; failed=0
result() { # name rc
  if [ "$2" = 0 ]; then echo "ok   $1"; passed=$((passed + 1)); else echo "FAIL $1"; failed=$((failed + 1)); fi
}
run() { # name command… : output indented, result counted
  local name="$1"; shift
  local rc=0
  "$@" > "$W/out" 2>&1 || rc=$?
  sed 's/^/    /' "$W/out" | tail -40
  result "$name" "$rc"
}

# The emulator, its start-up JSON on the first line (closed stdin stops it).
coproc EMUC { exec "$ROOT/target/debug/polargrid-emulator"; }
# (bash unsets EMUC_PID once the coprocess is reaped: keep the pid for cleanup)
EMU=$EMUC_PID
read -r ENDPOINTS <&"${EMUC[0]}"
export POLARGRID_DIST_ENDPOINTS="$ENDPOINTS"
cp tests/dist/smoke.py tests/dist/smoke.mjs "$W/"

whl() { echo "$DIST/polargrid_core-$V-py3-none-$1.whl"; }
X64="$(whl manylinux2014_x86_64.manylinux_2_17_x86_64)"
A64="$(whl manylinux2014_aarch64.manylinux_2_17_aarch64)"
MX64="$(whl musllinux_1_2_x86_64)"
MA64="$(whl musllinux_1_2_aarch64)"

PY="${PYTHON:-python3.11}"; command -v "$PY" >/dev/null || PY=python3
pip_quiet=(--quiet --disable-pip-version-check --no-input --root-user-action=ignore)

# 1. x86_64 manylinux wheel, fresh venv here.
venv_here() {
  "$PY" -m venv "$W/venv" && "$W/venv/bin/pip" install "${pip_quiet[@]}" "$X64" &&
    (cd "$W" && venv/bin/python smoke.py "$V")
}
run "wheel manylinux2014 x86_64: pip install in a fresh venv, CPython $("$PY" -c 'import platform; print(platform.python_version())'), glibc $(ldd --version | head -1 | awk '{print $NF}')" venv_here

# 2. The same wheel in Debian 11 (glibc 2.31, CPython 3.9): a venv in the root, pip from PyPI.
D11="$POLARGRID_CACHE/debian11-amd64"
debian11() {
  mkdir -p "$D11/tmp/dist-check"
  rm -rf "$D11/tmp/dist-check/"* && cp "$X64" "$W/smoke.py" "$D11/tmp/dist-check/"
  # This machine's resolver and CA bundle (PyPI is reached through them), and its pip config.
  cp /etc/resolv.conf "$D11/etc/resolv.conf"
  cp /etc/ssl/certs/ca-certificates.crt "$D11/etc/ssl/certs/ca-certificates.crt"
  [ -f /etc/pip.conf ] && cp /etc/pip.conf "$D11/etc/pip.conf"
  mountpoint -q "$D11/proc" || { mount -t proc proc "$D11/proc"; MOUNTED+=("$D11/proc"); }
  chroot "$D11" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root POLARGRID_DIST_ENDPOINTS="$ENDPOINTS" /bin/sh -ec "
    cd /tmp/dist-check
    echo \"Debian \$(cat /etc/debian_version), \$(ldd --version | head -1), \$(python3 --version)\"
    rm -rf venv && python3 -m venv venv
    venv/bin/pip install --quiet --disable-pip-version-check --no-input ./$(basename "$X64")
    venv/bin/python smoke.py $V"
}
run "wheel manylinux2014 x86_64: pip install in a venv in a Debian 11 root" debian11

# 3. aarch64 manylinux: the wheel unpacked as pip would, run by Debian 11 arm64's CPython under qemu.
A11="$POLARGRID_CACHE/debian11-arm64"
aarch64() {
  mkdir -p "$W/a64/site" && (cd "$W/a64/site" && unzip -q "$A64")
  # httpx and its (pure Python) dependencies for CPython 3.9, from PyPI.
  "$PY" -m pip install "${pip_quiet[@]}" --target "$W/a64/site" --only-binary=:all: --python-version 3.9 \
    --implementation py --platform any "httpx==0.28.1" "exceptiongroup" "typing_extensions"
  echo "$(file -b "$A11/usr/bin/python3.9" | cut -d, -f1-2)"
  (cd "$W" && PYTHONPATH="$W/a64/site" qemu-aarch64-static -L "$A11" "$A11/usr/bin/python3.9" smoke.py "$V")
}
run "wheel manylinux2014 aarch64: Debian 11 arm64 CPython 3.9 under qemu-user-static" aarch64

# 4. auditwheel's view of the manylinux wheels; the musllinux x86_64 library loaded by musl's loader.
AW="$POLARGRID_CACHE/venv-dist/bin/auditwheel"
for w in "$X64" "$A64"; do
  tag="$(basename "$w" .whl | sed 's/.*py3-none-//; s/.*\.//')"
  run "auditwheel show: $tag" sh -c "'$AW' show '$w' | tr '\n' ' ' | grep -o 'is consistent with the following platform tag: \"[^\"]*\"' | grep -q '\"$tag\"' && '$AW' show '$w' | sed -n 2,4p"
done
musl() {
  mkdir -p "$W/musl" && (cd "$W/musl" && unzip -q "$MX64")
  local so; so="$(find "$W/musl" -name 'libpolargrid_uniffi*.so')"
  local sym; sym="$(nm -D --defined-only "$so" | awk '/uniffi_contract_version$/ {print $3; exit}')"
  musl-gcc -O2 -o "$W/musl/load" tests/dist/musl-load.c
  readelf -l "$W/musl/load" | grep -o 'ld-musl[^]]*'
  "$W/musl/load" "$so" "$sym"
}
run "wheel musllinux_1_2 x86_64: its library loads and answers under musl's loader" musl
# aarch64: the same program cross-built by zig (ziglang, make dist's linker) against musl, run by
# Debian 11 arm64's musl loader (1.2.2) under qemu-user-static.
musl_a64() {
  mkdir -p "$W/musl-a64" && (cd "$W/musl-a64" && unzip -q "$MA64")
  local so; so="$(find "$W/musl-a64" -name 'libpolargrid_uniffi*.so')"
  local sym; sym="$(readelf -s -W --dyn-syms "$so" | awk '/uniffi_contract_version$/ {print $8; exit}')"
  "$POLARGRID_CACHE/venv-dist/bin/python" -m ziglang cc -target aarch64-linux-musl -dynamic -O2 \
    -o "$W/musl-a64/load" tests/dist/musl-load.c
  readelf -l "$W/musl-a64/load" | grep -o 'ld-musl[^]]*'
  qemu-aarch64-static -L "$A11" "$W/musl-a64/load" "$so" "$sym"
}
run "wheel musllinux_1_2 aarch64: its library loads and answers under musl's loader (qemu)" musl_a64

# 5. sdist: builds from source in a fresh venv (slow, so only when asked).
if [ "${DIST_CHECK_SDIST:-0}" = 1 ]; then
  sdist() {
    "$PY" -m venv "$W/venv-sdist" &&
      CARGO_TARGET_DIR="$ROOT/target/sdist-build" "$W/venv-sdist/bin/pip" install "${pip_quiet[@]}" "$DIST/polargrid_core-$V.tar.gz" &&
      (cd "$W" && venv-sdist/bin/python smoke.py "$V")
  }
  run "sdist: pip install builds it from source in a fresh venv" sdist
fi

# 6. npm tarball into a fresh Node project.
npm_project() {
  mkdir -p "$W/node" && cd "$W/node" &&
    printf '{"name":"dist-check","private":true,"type":"module"}\n' > package.json &&
    npm install --silent --no-audit --no-fund "$DIST/polargrid-core-$V.tgz" &&
    cp "$W/smoke.mjs" . && node smoke.mjs "$V"
}
run "npm tarball: npm install into a fresh Node project, handoff + session calls" npm_project

# 7. The jar on a bare JVM: the quickstart compiled against it; the class path is the jar plus the
#    pom's dependencies (local copies: Debian's JNA, kotlinc's coroutines and stdlib).
jvm() {
  local cp="$DIST/polargrid-core-$V.jar" a jarfile
  for a in $(sed -nE 's|.*<artifactId>([^<]+)</artifactId><version>.*|\1|p' "$DIST/polargrid-core-$V.pom"); do
    case "$a" in
      jna) jarfile=/usr/share/java/jna.jar ;;
      kotlinx-coroutines-core|kotlinx-coroutines-core-jvm) jarfile="$KHOME/lib/kotlinx-coroutines-core-jvm.jar" ;;
      kotlin-stdlib) jarfile="$KHOME/lib/kotlin-stdlib.jar" ;;
      *) echo "no local copy of the pom's dependency $a"; return 1 ;;
    esac
    cp="$cp:$jarfile"
  done
  echo "class path: $cp" | sed "s|$DIST/||; s|$KHOME/lib/||g"
  mkdir -p "$W/jvm" && cd "$W/jvm"
  "$KHOME/bin/kotlinc" -nowarn -jvm-target 17 -cp "$cp" -d quickstart.jar "$ROOT/examples/kotlin/Quickstart.kt" 2>&1 | grep -v '^warning' || true
  POLARGRID_EMULATOR="$ROOT/target/debug/polargrid-emulator" java -cp "quickstart.jar:$cp" QuickstartKt | tee out.txt
  grep -q 'GET /v1/models -> 200' out.txt && grep -q 'error kind=' out.txt
}
run "jar: the Kotlin quickstart on a bare JVM with the jar and its pom's dependencies" jvm

exec {EMUC[1]}>&-
echo "dist-check: $passed passed, $failed failed"
[ "$failed" = 0 ]
