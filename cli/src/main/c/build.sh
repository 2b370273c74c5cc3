#!/bin/sh
# Builds libkextnet-kl.so (kl_unixsock.c beside this script) into OUT_DIR when a C compiler is there; without one it
# says so and succeeds: kl_util then uses the JDK's SocketChannel (docs/kern_loader.md, "kl_util's socket and
# start-up").
# Usage: build.sh JAVA_HOME OUT_DIR [COPY_DIR...]   (run by the cli module's Maven build, phase compile)
set -eu
JH="$1" OUT="$2"
shift 2
skip() {  # skip WHY COPY_DIR...: no library this build, nor one left from an earlier build that the classes may not match
  echo "kextnet: $1: kl_util will use the JDK's slower Unix socket (no libkextnet-kl.so)" >&2
  shift
  rm -f "$OUT/libkextnet-kl.so" "$OUT/libkextnet-kl.so.tmp"
  for d in "$@"; do rm -f "$d/libkextnet-kl.so"; done
  exit 0
}
SRC="$(dirname "$0")/kl_unixsock.c"
CC="${CC:-}"
if [ -z "$CC" ]; then
  for c in gcc cc clang; do
    if command -v "$c" >/dev/null 2>&1; then CC="$c"; break; fi
  done
fi
[ -n "$CC" ] || skip "no C compiler (gcc, cc or clang)" "$@"
[ -f "$JH/include/jni.h" ] || skip "no $JH/include/jni.h" "$@"
mkdir -p "$OUT"
# Into a temporary name first: a half-written library is never loaded. A compiler that fails does not fail the build
# either (kl_util falls back); under CI=true KlUtilTransportTest fails when the library does not load.
"$CC" -O2 -shared -fPIC -Wall -Wextra -o "$OUT/libkextnet-kl.so.tmp" -I"$JH/include" -I"$JH/include/linux" "$SRC" \
  || skip "$CC could not build libkextnet-kl.so" "$@"
mv -f "$OUT/libkextnet-kl.so.tmp" "$OUT/libkextnet-kl.so"
for d in "$@"; do
  mkdir -p "$d"
  cp -f "$OUT/libkextnet-kl.so" "$d/libkextnet-kl.so.tmp"
  mv -f "$d/libkextnet-kl.so.tmp" "$d/libkextnet-kl.so"
done
