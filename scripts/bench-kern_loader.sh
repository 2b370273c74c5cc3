#!/usr/bin/env bash
# kern_loader benchmarks (docs/benchmarks.md, "kern_loader"):
#  1. cold demand load to first reply, and the warm message round trip over the Unix socket (LoaderBench);
#     coldIterations=0 skips it;
#  2. `kl_util -s` against a daemon holding 100 servers, in several JVM set-ups, runs interleaved: the command's own
#     work (KEXTNET_TIMING=1: from main's first statement to the flushed output, as the command itself measures it)
#     and the whole command's wall time (bash's EPOCHREALTIME around it), median and p90, beside `java -version`.
# Usage: scripts/bench-kern_loader.sh [coldIterations] [warmMessages] [klRuns]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
J="$JAVA_HOME/bin/java"
COLD="${1:-300}" WARM="${2:-200000}" RUNS="${3:-20}"

mvn -q -B -DskipTests package >/dev/null
DIST="$ROOT/cli/target/dist"
touch "$DIST/.built" # the distribution is fresh: ./kextnet need not build it again
if [ "$COLD" -gt 0 ]; then
  mvn -q -B -pl loader dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/bench.cp >/dev/null
  # The reactor's own classes first: the local repository may hold another branch's snapshot.
  CP="loader/target/test-classes:loader/target/classes:kernel/target/classes:kpi/target/classes:$(cat loader/target/bench.cp)"
  echo "== LoaderBench (cold $COLD, warm $WARM)"
  "$J" -XX:+UseCompactObjectHeaders -cp "$CP" org.kextnet.loader.bench.LoaderBench "$COLD" "$WARM"
fi

T="$(mktemp -d /tmp/kl-bench-XXXXXX)"
DIST="$ROOT/cli/target/dist"
for i in $(seq -w 0 99); do
  printf 'SERVER_NAME s%s\nRELOC %s/examples/echo-server.jar\nADVERTIZED_PORT p%s\nMAP p%s echo 0\nINIT init 0\nFREE free 0\n' \
    "$i" "$DIST" "$i" "$i" > "$T/s$i.kern_server"
done
KL=("$J" --enable-native-access=ALL-UNNAMED -XX:+UseCompactObjectHeaders -cp "$DIST/lib/*" org.kextnet.cli.Kextnet)
"${KL[@]}" kern_loader --socket "$T/kl.sock" "$T"/s*.kern_server >/dev/null
PID="$(cat "$T/kl.pid")" # the pid file is named after the socket (kl.sock: kl.pid)
trap 'kill -TERM "$PID" 2>/dev/null || true; rm -rf "$T"' EXIT
allocated() { "${KL[@]}" kl_util --socket "$T/kl.sock" -s | grep -c ' Allocated$' || true; }
for _ in $(seq 60); do [ "$(allocated)" -eq 100 ] && break; sleep 0.5; done # the daemon allocates them concurrently
test "$(allocated)" -eq 100

# The JVM set-ups. "launcher" is what ./kextnet runs kl_util with (see the kl_util case in ./kextnet).
PLAIN=("$J" --enable-native-access=ALL-UNNAMED -XX:+UseCompactObjectHeaders -cp "$DIST/lib/*")
LF=("$J" --enable-native-access=ALL-UNNAMED -XX:+UseCompactObjectHeaders -Xint -XX:+UseSerialGC -XX:-UsePerfData
    -Xlog:disable -Xlog:all=warning:stderr)
MAIN=(org.kextnet.cli.Kextnet kl_util --socket "$T/kl.sock" -s)
rm -f "$DIST/kl_util.aot"
"$ROOT/kextnet" kl_util --socket "$T/kl.sock" -s >/dev/null # records kl_util's classes and makes the launcher's AOT cache
test -f "$DIST/kl_util.aot"
"${LF[@]}" -XX:ArchiveClassesAtExit="$T/kl.jsa" -cp "$DIST/lib/*" "${MAIN[@]}" >/dev/null # a dynamic AppCDS archive, to compare
declare -A CMD
CMD[launcher]="$ROOT/kextnet kl_util --socket $T/kl.sock -s"
CMD[aot]="${LF[*]} -XX:AOTCache=$DIST/kl_util.aot -cp $DIST/lib/* ${MAIN[*]}"
CMD[c1]="${LF[*]/-Xint/-XX:TieredStopAtLevel=1} -XX:AOTCache=$DIST/kl_util.aot -cp $DIST/lib/* ${MAIN[*]}"
CMD[appcds]="${LF[*]} -XX:SharedArchiveFile=$T/kl.jsa -cp $DIST/lib/* ${MAIN[*]}"
CMD[flags]="${LF[*]} -cp $DIST/lib/* ${MAIN[*]}"
CMD[plain]="${PLAIN[*]} ${MAIN[*]}"
CMD[aot-jdk]="${LF[*]} -XX:AOTCache=$DIST/kl_util.aot -Dkextnet.kl.transport=jdk -cp $DIST/lib/* ${MAIN[*]}"
CMD[plain-jdk]="${PLAIN[*]} -Dkextnet.kl.transport=jdk ${MAIN[*]}"
CMD[java-version]="$J -version"
ORDER=(launcher aot c1 appcds flags plain aot-jdk plain-jdk java-version)
declare -A LABEL=(
  [launcher]="./kextnet kl_util -s (JNI socket; AOT cache, -Xint, serial GC)"
  [aot]="the same java command without the launcher script"
  [c1]="the same with C1 (-XX:TieredStopAtLevel=1) instead of -Xint"
  [appcds]="launcher flags, dynamic AppCDS archive instead of the AOT cache"
  [flags]="launcher flags, no archive"
  [plain]="plain JVM (G1, tiered, default CDS), JNI socket"
  [aot-jdk]="launcher flags + AOT cache, JDK SocketChannel (fallback)"
  [plain-jdk]="plain JVM, JDK SocketChannel (fallback)"
  [java-version]="java -version (reference)")

B="$T/times"; mkdir -p "$B"
set -f # the commands' class path, $DIST/lib/*, is the JVM's wildcard, not the shell's
echo "== kl_util -s with 100 servers, $RUNS runs of each, interleaved; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq "$RUNS"); do
  for k in "${ORDER[@]}"; do
    # word splitting of the command is intended: its parts hold no spaces (kl_util's socket is under /tmp)
    # shellcheck disable=SC2086
    if [ "$k" != java-version ]; then
      KEXTNET_TIMING=1 ${CMD[$k]} 2>&1 >/dev/null | sed -n 's/^kl_util: work \([0-9]*\) us$/\1/p' >> "$B/$k.work"
    fi
    s=${EPOCHREALTIME/./}; ${CMD[$k]} >/dev/null 2>&1; e=${EPOCHREALTIME/./}
    echo $((e - s)) >> "$B/$k.wall"
  done
done
pct() { sort -n "$1" | awk -v p="$2" '{a[NR]=$1} END {i=int(NR*p/100+0.999); if (i<1) i=1; printf "%.1f", a[i]/1000}'; }
printf '%-66s %22s %22s\n' "set-up" "own work ms (p50 / p90)" "whole ms (p50 / p90)"
for k in "${ORDER[@]}"; do
  w="-"; [ -s "$B/$k.work" ] && w="$(pct "$B/$k.work" 50) / $(pct "$B/$k.work" 90)"
  printf '%-66s %22s %22s\n' "${LABEL[$k]}" "$w" "$(pct "$B/$k.wall" 50) / $(pct "$B/$k.wall" 90)"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
