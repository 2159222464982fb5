#!/usr/bin/env bash
# Installs the Kotlin compiler (npm `kotlin-compiler`, the full kotlinc distribution: Maven
# Central is unreachable) into $POLARGRID_CACHE/kotlin, JNA from Debian (libjna-java), and OkHttp 3
# with okio from Debian (libokhttp-java: the OkHttp stack is compiled and tested against it).
# Each piece is skipped when the right version is already there.
set -euo pipefail
. "$(dirname "$0")/env.sh"
KOTLIN_VERSION=2.4.20
KDIR="$POLARGRID_CACHE/kotlin"
KHOME="$KDIR/node_modules/kotlin-compiler"

have_kotlin() {
  [ -f "$KDIR/.installed-$KOTLIN_VERSION" ] && [ -x "$KHOME/bin/kotlinc" ]
}
if ! have_kotlin; then
  echo "installing kotlin-compiler $KOTLIN_VERSION (npm) into $KDIR" >&2
  rm -rf "$KDIR"
  mkdir -p "$KDIR"
  (cd "$KDIR" && npm install --silent --no-audit --no-fund --no-save --prefix "$KDIR" "kotlin-compiler@$KOTLIN_VERSION" >/dev/null)
  chmod +x "$KHOME"/bin/*
  touch "$KDIR/.installed-$KOTLIN_VERSION"
fi

if [ ! -f /usr/share/java/jna.jar ]; then
  echo "installing libjna-java (apt)" >&2
  apt-get install -y -q libjna-java >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q libjna-java >/dev/null; }
fi

if [ ! -f /usr/share/java/okhttp.jar ] || [ ! -f /usr/share/java/okio.jar ]; then
  echo "installing libokhttp-java (apt)" >&2
  apt-get install -y -q libokhttp-java >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q libokhttp-java >/dev/null; }
fi
