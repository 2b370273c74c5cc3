#!/usr/bin/env bash
# The RPC round trip (docs/benchmarks.md, "The RPC round trip"): LoaderBench's warm round trip and
# ConcurrentClientsBench's throughput, in rounds that alternate, in one run, between
#   before:   connections on virtual threads that park at once (-Dkextnet.rpc.spinMicros=0),
#   spin:     the daemon as it is (a quick client's connection reads without blocking for 50 us before parking),
#   poller1:  before, with the JDK's poller on a platform thread (-Djdk.pollerMode=1),
#   platform: the reference, one platform thread per connection (Connection.java with Thread.ofPlatform, compiled
#             into a directory put first on the class path; what issue 13 forbids, measured only).
# Usage: scripts/bench-rpc-latency.sh [rounds=4] [warmMessages=100000] [clients=8] [millis=5000]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
J="$JAVA_HOME/bin/java"
ROUNDS="${1:-4}" WARM="${2:-100000}" CLIENTS="${3:-8}" MILLIS="${4:-5000}"

mvn -q -B -DskipTests test-compile -pl loader -am >/dev/null
mvn -q -B -pl loader dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/bench.cp >/dev/null
MAIN="loader/target/classes:kernel/target/classes:kpi/target/classes:$(cat loader/target/bench.cp)"
CP="loader/target/test-classes:$MAIN"
T="$(mktemp -d /tmp/rpc-bench-XXXXXX)"
trap 'rm -rf "$T"' EXIT
sed 's/Thread.ofVirtual().name("kern_loader-conn")/Thread.ofPlatform().daemon().name("kern_loader-conn")/' \
  loader/src/main/java/org/kextnet/loader/rpc/Connection.java > "$T/Connection.java"
grep -q 'Thread.ofPlatform().daemon().name("kern_loader-conn")' "$T/Connection.java"
"$JAVA_HOME/bin/javac" -nowarn -d "$T/platform" -cp "$MAIN" "$T/Connection.java"

declare -A ARGS=(
  [before]="-Dkextnet.rpc.spinMicros=0 -cp $CP"
  [spin]="-cp $CP"
  [poller1]="-Djdk.pollerMode=1 -Dkextnet.rpc.spinMicros=0 -cp $CP"
  [platform]="-Dkextnet.rpc.spinMicros=0 -cp $T/platform:$CP")
ORDER=(before spin poller1 platform)
echo "== $ROUNDS rounds; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
  for k in "${ORDER[@]}"; do
    # shellcheck disable=SC2086 # the arguments hold no spaces
    rt="$("$J" -XX:+UseCompactObjectHeaders ${ARGS[$k]} org.kextnet.loader.bench.LoaderBench 0 "$WARM" | sed -n 's/^warm round trip.*sequential): //p')"
    # shellcheck disable=SC2086
    tp="$("$J" -XX:+UseCompactObjectHeaders ${ARGS[$k]} org.kextnet.loader.bench.ConcurrentClientsBench "$CLIENTS" "$MILLIS")"
    printf 'round %s %-9s load %-5s round trip %s; %s\n' "$r" "$k" "$(cut -d' ' -f1 /proc/loadavg)" "$rt" "$tp"
  done
done
