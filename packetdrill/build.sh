#!/usr/bin/env bash
# Builds what running packetdrill scripts on kextnet needs, into packetdrill/target/:
#   target/packetdrill/packetdrill          Google's packetdrill, built from a copy of its source
#   target/native/libkextnet-packetdrill.so the shim packetdrill loads with --so_filename
#   target/native/kextnet-packetdrill.conf  the shim's JVM: libjvm.so, class path, options
#   target/packetdrill-tests/gtests/net/    packetdrill's own test scripts (tcp/, common/), copied to run
#
# Usage: packetdrill/build.sh
# Needs: gcc, make, bison, flex and patch; packetdrill's source in $PACKETDRILL_SRC, else ../shared/tools/packetdrill
# beside the repository (git clone https://github.com/google/packetdrill); a JDK 25 in $JAVA_HOME; and the
# compiled bridge (mvn -B -q compile -pl packetdrill -am, which writes target/classpath.txt).
# Exit status 3 when a tool or the source is missing: the message says which and how to get it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
src="${PACKETDRILL_SRC:-$root/../shared/tools/packetdrill}"
java_home="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
target="$here/target"

missing() { echo "packetdrill/build.sh: $*" >&2; exit 3; }

for tool in gcc make bison flex patch; do
  command -v "$tool" >/dev/null || missing "needs $tool (Debian: apt-get install -y gcc make bison flex patch)"
done
[ -f "$src/gtests/net/packetdrill/packetdrill.h" ] \
  || missing "no packetdrill source in $src (git clone https://github.com/google/packetdrill there, or set PACKETDRILL_SRC)"
[ -f "$java_home/include/jni.h" ] && [ -f "$java_home/lib/server/libjvm.so" ] \
  || missing "no JDK with jni.h and lib/server/libjvm.so in $java_home (set JAVA_HOME to a JDK 25)"
[ -f "$target/classpath.txt" ] && [ -d "$target/classes/org/kextnet/packetdrill" ] \
  || missing "the Java bridge is not compiled: run mvn -B -q compile -pl packetdrill -am first"

# packetdrill, built once from a copy (its source tree is shared and stays untouched), with the patches in patches/:
#   code-events-through-shim.patch  a script's %{ python }% lines read TCP_INFO with the shared object's getsockopt
#                                   (packetdrill asks the real one, which knows nothing of the shim's sockets)
# A change of the patches rebuilds it.
patches_sum="$(cat "$here"/patches/*.patch | cksum)"
if [ ! -x "$target/packetdrill/packetdrill" ] || [ "$(cat "$target/packetdrill/.kextnet-patches" 2>/dev/null)" != "$patches_sum" ]; then
  rm -rf "$target/packetdrill"
  cp -r "$src/gtests/net/packetdrill" "$target/packetdrill"
  chmod -R u+w "$target/packetdrill"
  for p in "$here"/patches/*.patch; do
    patch -s -d "$target/packetdrill" -p1 <"$p" || { echo "packetdrill/build.sh: $p does not apply to $src" >&2; exit 1; }
  done
  (cd "$target/packetdrill" && ./configure && make -s packetdrill) >"$target/packetdrill-build.log" 2>&1 \
    || { tail -20 "$target/packetdrill-build.log" >&2; echo "packetdrill/build.sh: building packetdrill failed (log: $target/packetdrill-build.log)" >&2; exit 1; }
  echo "$patches_sum" >"$target/packetdrill/.kextnet-patches"
fi

# packetdrill's own scripts, copied afresh so that they run beside working helpers: a source tree checked out without
# symbolic links has a one-line text file where a link was (tcp/common/defaults.sh reads "../../common/defaults.sh"),
# which the scripts' `../common/defaults.sh` cannot run. Such a file becomes the link it names.
tests="$target/packetdrill-tests/gtests/net"
rm -rf "$target/packetdrill-tests"
mkdir -p "$tests"
for d in "$src"/gtests/net/*/; do
  [ "$(basename "$d")" = packetdrill ] || cp -r "$d" "$tests/"
done
chmod -R u+w "$target/packetdrill-tests"
find "$tests" -type f -size -256c | while read -r f; do
  [ "$(wc -l <"$f")" -eq 0 ] || continue
  link="$(cat "$f")"
  case "$link" in */*) ;; *) continue ;; esac
  if [ -f "$(dirname "$f")/$link" ]; then ln -sfn "$link" "$f"; fi
done

# The shim, against packetdrill's header and the JDK's JNI headers.
mkdir -p "$target/native"
gcc -shared -fPIC -O2 -g -std=gnu11 -Wall -Wextra -Werror \
  -I"$java_home/include" -I"$java_home/include/linux" -I"$src/gtests/net/packetdrill" \
  -o "$target/native/libkextnet-packetdrill.so.tmp" "$here/src/main/c/kextnet_packetdrill.c" -ldl -lpthread
mv -f "$target/native/libkextnet-packetdrill.so.tmp" "$target/native/libkextnet-packetdrill.so"

# The JVM the shim starts: a small heap and the serial collector (a script is short and single-minded), C1
# only (the JIT's second tier would not pay off in a run of a second), the JDK's class-data archive.
cat >"$target/native/kextnet-packetdrill.conf" <<CONF
# Written by packetdrill/build.sh: the JVM the kextnet shim starts inside packetdrill.
jvm=$java_home/lib/server/libjvm.so
classpath=$target/classes:$(cat "$target/classpath.txt")
option=--enable-native-access=ALL-UNNAMED
option=-Xmx256m
option=-XX:+UseSerialGC
option=-XX:TieredStopAtLevel=1
option=-Xshare:auto
option=-Xlog:disable
option=-Xlog:all=warning:stderr
CONF
echo "$target/packetdrill/packetdrill"
echo "$target/native/libkextnet-packetdrill.so"
