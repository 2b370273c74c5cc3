#!/bin/sh
# Builds libkextnet-kl.so (kl_unixsock.c beside this script) into OUT_DIR when a C compiler is there; without one it
# says so and succeeds: kl_util then uses the JDK's SocketChannel (docs/kern_loader.md, "kl_util's socket").
# Usage: build.sh JAVA_HOME OUT_DIR [COPY_DIR...]   (run by the cli module's Maven build, phase compile)
set -eu
JH="$1" OUT="$2"
shift 2
SRC="$(dirname "$0")/kl_unixsock.c"
CC="${CC:-}"
if [ -z "$CC" ]; then
  for c in gcc cc clang; do
    if command -v "$c" >/dev/null 2>&1; then CC="$c"; break; fi
  done
fi
if [ -z "$CC" ] || [ ! -f "$JH/include/jni.h" ]; then
  echo "kextnet: no C compiler or no $JH/include/jni.h: kl_util will use the JDK's slower Unix socket (no libkextnet-kl.so)" >&2
  exit 0
fi
mkdir -p "$OUT"
# Into a temporary name first: a half-written library is never loaded.
"$CC" -O2 -shared -fPIC -Wall -Wextra -o "$OUT/libkextnet-kl.so.tmp" -I"$JH/include" -I"$JH/include/linux" "$SRC"
mv -f "$OUT/libkextnet-kl.so.tmp" "$OUT/libkextnet-kl.so"
for d in "$@"; do
  mkdir -p "$d"
  cp -f "$OUT/libkextnet-kl.so" "$d/libkextnet-kl.so.tmp"
  mv -f "$d/libkextnet-kl.so.tmp" "$d/libkextnet-kl.so"
done
