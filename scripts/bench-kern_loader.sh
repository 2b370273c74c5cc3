#!/usr/bin/env bash
# kern_loader benchmarks (docs/benchmarks.md, "kern_loader"):
#  1. cold demand load to first reply, and the warm message round trip over the Unix socket (LoaderBench);
#  2. `kl_util -s` against a daemon holding 100 servers: the command's own work, and the whole command's wall
#     time with and without an AppCDS archive.
# Usage: scripts/bench-kern_loader.sh [coldIterations] [warmMessages] [klRuns]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
J="$JAVA_HOME/bin/java"
COLD="${1:-300}" WARM="${2:-200000}" RUNS="${3:-20}"

mvn -q -B -DskipTests package >/dev/null
mvn -q -B -pl loader dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/bench.cp >/dev/null
# The reactor's own classes first: the local repository may hold another branch's snapshot.
CP="loader/target/test-classes:loader/target/classes:kernel/target/classes:kpi/target/classes:$(cat loader/target/bench.cp)"
echo "== LoaderBench (cold $COLD, warm $WARM)"
"$J" -XX:+UseCompactObjectHeaders -cp "$CP" org.kextnet.loader.bench.LoaderBench "$COLD" "$WARM"

echo "== kl_util -s with 100 servers ($RUNS runs each); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
T="$(mktemp -d /tmp/kl-bench-XXXXXX)"
DIST="$ROOT/cli/target/dist"
for i in $(seq -w 0 99); do
  printf 'SERVER_NAME s%s\nRELOC %s/examples/echo-server.jar\nADVERTIZED_PORT p%s\nMAP p%s echo 0\nINIT init 0\nFREE free 0\n' \
    "$i" "$DIST" "$i" "$i" > "$T/s$i.kern_server"
done
KL=("$J" -XX:+UseCompactObjectHeaders -cp "$DIST/lib/*" org.kextnet.cli.Kextnet)
"${KL[@]}" kern_loader --socket "$T/kl.sock" "$T"/s*.kern_server >/dev/null
PID="$(cat "$T/kern_loader.pid")"
trap 'kill -TERM "$PID" 2>/dev/null || true; rm -rf "$T"' EXIT
test "$("${KL[@]}" kl_util --socket "$T/kl.sock" -s | wc -l)" -eq 100

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
walls() {  # wall time in ms of RUNS runs of the command given
  for _ in $(seq "$RUNS"); do
    s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))
  done | median
}
work=$(for _ in $(seq "$RUNS"); do KEXTNET_TIMING=1 "${KL[@]}" kl_util --socket "$T/kl.sock" -s 2>&1 >/dev/null | sed -n 's/^kl_util: work \([0-9.]*\) ms$/\1/p'; done | median)
jvm=$(walls "$J" -XX:+UseCompactObjectHeaders -cp "$DIST/lib/*" org.kextnet.cli.Kextnet --version)
plain=$(walls "${KL[@]}" kl_util --socket "$T/kl.sock" -s)
CDS="$T/kl.jsa"
"$J" -XX:+UseCompactObjectHeaders -XX:+AutoCreateSharedArchive -XX:SharedArchiveFile="$CDS" -cp "$DIST/lib/*" org.kextnet.cli.Kextnet kl_util --socket "$T/kl.sock" -s >/dev/null
cds=$(walls "$J" -XX:+UseCompactObjectHeaders -XX:+AutoCreateSharedArchive -XX:SharedArchiveFile="$CDS" -Xshare:auto -cp "$DIST/lib/*" org.kextnet.cli.Kextnet kl_util --socket "$T/kl.sock" -s)
cdsj=$(walls "$J" -XX:+UseCompactObjectHeaders -XX:+AutoCreateSharedArchive -XX:SharedArchiveFile="$CDS" -XX:TieredStopAtLevel=1 -cp "$DIST/lib/*" org.kextnet.cli.Kextnet kl_util --socket "$T/kl.sock" -s)
echo "kl_util -s, 100 servers: command's own work (connect, list, format, print) median ${work} ms"
echo "kl_util -s, 100 servers: whole command median ${plain} ms; 'kextnet --version' (JVM start + picocli, no RPC) ${jvm} ms"
echo "kl_util -s, 100 servers: with an AppCDS archive median ${cds} ms; AppCDS + C1 only ${cdsj} ms"
