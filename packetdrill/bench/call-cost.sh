#!/usr/bin/env bash
# The packetdrill shim's call cost beside a pipe round trip to another process, and the real time of each of
# kextnet's scripts beside a bare JVM start (docs/benchmarks.md, "packetdrill shim").
# Usage: packetdrill/bench/call-cost.sh [calls=200000] [rounds=5]   (as root, after packetdrill/build.sh)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
module="$(cd "$here/.." && pwd)"
src="${PACKETDRILL_SRC:-$module/../../shared/tools/packetdrill}"
java_home="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
gcc -O2 -Wall -I"$src/gtests/net/packetdrill" -o "$module/target/call-cost" "$here/call-cost.c" -ldl
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$module/target/call-cost" "$module/target/native/libkextnet-packetdrill.so" "${1:-200000}" "${2:-5}" 2>/dev/null
ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
cd "$module/scripts"
for s in udp/*.pkt icmp/*.pkt; do
  echo "$s: $(ms "$module/run-script.sh" "$s") ms; java -version: $(ms "$java_home/bin/java" -version) ms"
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
