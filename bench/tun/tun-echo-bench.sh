#!/usr/bin/env bash
# tun-echo-bench.sh - UDP echo over a TUN device, Linux as the sender: kextnet beside a C reflector,
# on the same set-up in the same run.
#
#   sudo bench/tun/tun-echo-bench.sh
#
# For each of REPS runs it starts (1) the C reflector bench/tun/tunreflect and then (2) kextnet's
# TunEchoMain (UDP echo service on port 7) on a TUN device whose Linux side, 10.210.0.1/24, lives in a
# namespace of its own; in that namespace bench/tun/udpload sends SIZE-byte datagrams to 10.210.0.2:7
# with sendmmsg for WARM seconds (not counted), then for DUR seconds, and counts the echoes that come
# back. The figure is echoes received per second at the sender over the DUR window.
#
# Environment: REPS (3) DUR (5) WARM (4) SIZE (64) FLOWS (1, UDP flows of the sender)
#   QUEUES (1, kextnet's TUN queues) CQUEUES (1, the C reflector's queues) CRITICAL (true: read/write
#   linked as critical FFM downcalls) SKIP_BUILD (0) WORK (a directory for logs, kept; default a temporary
#   one, removed unless KEEP_LOGS=1) JAVA_HOME.
# Everything it creates (namespace, device, processes) is its own and removed on exit; only 10.210.0.0/24
# inside that namespace is used. Needs root, gcc, iproute2, and JDK 25 with Maven (for the build).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$ROOT/bench/lib.sh"
REPS=${REPS:-3} DUR=${DUR:-5} WARM=${WARM:-4} SIZE=${SIZE:-64} FLOWS=${FLOWS:-1}
QUEUES=${QUEUES:-1} CQUEUES=${CQUEUES:-1} CRITICAL=${CRITICAL:-true} SKIP_BUILD=${SKIP_BUILD:-0}
[ "$(id -u)" = 0 ] || { echo "tun-echo-bench: needs root (namespaces, /dev/net/tun)" >&2; exit 1; }
for n in REPS DUR WARM SIZE FLOWS QUEUES CQUEUES; do
  [[ ${!n} =~ ^[0-9]+$ ]] || { echo "tun-echo-bench: $n must be a number" >&2; exit 2; }
done
[ "$REPS" -ge 1 ] && [ "$REPS" -le 20 ] && [ "$DUR" -ge 1 ] && [ "$DUR" -le 60 ] && [ "$WARM" -le 30 ] \
  && [ "$FLOWS" -ge 1 ] && [ "$FLOWS" -le 64 ] && [ "$QUEUES" -ge 1 ] && [ "$QUEUES" -le 16 ] \
  && [ "$CQUEUES" -ge 1 ] && [ "$CQUEUES" -le 16 ] && [ "$SIZE" -ge 1 ] && [ "$SIZE" -le 1472 ] \
  || { echo "tun-echo-bench: REPS 1..20, DUR 1..60, WARM <=30, FLOWS 1..64, QUEUES/CQUEUES 1..16, SIZE 1..1472" >&2; exit 2; }

find_jdk25() {
  local c
  for c in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25* /usr/lib/jvm/*25*; do
    [ -n "$c" ] && [ -x "$c/bin/java" ] && "$c/bin/java" -version 2>&1 | grep -q 'version "25' && { echo "$c"; return 0; }
  done
  return 1
}
JAVA_HOME="$(find_jdk25)" || { echo "tun-echo-bench: no JDK 25 found" >&2; exit 1; }
export JAVA_HOME

# Logs and binaries go to WORK if given (kept), else to a temporary directory removed at the end (KEEP_LOGS=1 keeps it).
if [ -n "${WORK:-}" ]; then W=$WORK; OWN_W=0; else W=$(mktemp -d "${TMPDIR:-/tmp}/kextnet-tun-bench.XXXXXX"); OWN_W=1; fi
mkdir -p "$W"
NS="kxt-bench-$$"
DEV="kxb$(( $$ % 1000000 ))"
PEER=10.210.0.1 LOCAL=10.210.0.2
PID=""

cleanup() {
  stop_pid "$PID"; PID=""
  ip netns del "$NS" 2>/dev/null || true
  if [ "$OWN_W" = 1 ] && [ "${KEEP_LOGS:-0}" != 1 ]; then rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "# building (logs and binaries in $W$([ "$OWN_W" = 1 ] && [ "${KEEP_LOGS:-0}" != 1 ] && echo ', removed at the end'))"
gcc -O2 -Wall -pthread -o "$W/tunreflect" "$ROOT/bench/tun/tunreflect.c"
gcc -O2 -Wall -pthread -o "$W/udpload" "$ROOT/bench/tun/udpload.c"
# The classes come from this tree's target directories; the third-party jars are copied next to the logs.
# SKIP_BUILD=1 uses the classes as they are (after a build of your own).
goals=(compile)
[ "$SKIP_BUILD" = 1 ] && goals=()
(cd "$ROOT" && mvn -q -B -pl it -am "${goals[@]}" dependency:copy-dependencies \
   -DincludeScope=runtime -DexcludeGroupIds=org.kextnet -DoutputDirectory="$W/lib") >"$W/build.log" 2>&1 \
  || { cat "$W/build.log"; exit 1; }
CP="$ROOT/it/target/classes:$ROOT/kernel/target/classes:$ROOT/kpi/target/classes:$W/lib/*"

ip netns add "$NS"
ip -n "$NS" link set lo up
# No IPv6: keeps router solicitations and MLD out of the device.
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1

HZ=$(getconf CLK_TCK)
measure() {  # measure TAG: the counted load, and the responder's CPU time per echo meanwhile
  local t0 t1
  t0=$(cpu_ticks "$PID")
  load "$DUR" "$W/$1.gen"
  t1=$(cpu_ticks "$PID")
  CPU_US=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v n="$(field rx_pkts "$W/$1.gen")" \
    'BEGIN { printf "%.2f", (n > 0 ? d / hz * 1e6 / n : 0) }')
}

load() {  # load SECS OUT: the sender, bounded in time and count
  ip netns exec "$NS" timeout $(( $1 + 10 )) "$W/udpload" "$PEER" "$LOCAL" 7 "$SIZE" "$1" "$FLOWS" 100000000 > "$2"
}

# Each run sets OUT to the echoes per second (not a subshell: the EXIT trap must see PID).
run_c() {  # run_c REP
  local log="$W/c.$1.log"
  ip netns exec "$NS" "$W/tunreflect" "$DEV" $(( WARM + DUR + 3 )) "$CQUEUES" > "$log" 2>&1 & PID=$!
  wait_for 10 ip -n "$NS" link show "$DEV" || { echo "C reflector did not create $DEV: $(cat "$log")" >&2; return 1; }
  ip -n "$NS" addr add "$PEER/24" dev "$DEV"
  ip -n "$NS" link set "$DEV" up
  if [ "$WARM" -gt 0 ]; then load "$WARM" "$W/c.$1.warm"; fi
  measure "c.$1"
  CCPU+=("$CPU_US")
  stop_pid "$PID"; PID=""
  OUT=$(field rx_pps "$W/c.$1.gen")
}

run_kextnet() {  # run_kextnet REP
  local log="$W/k.$1.log"
  "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
    -XX:+UseCompactObjectHeaders -Xms512m -Xmx512m -Dkextnet.unchecked=true -Dkextnet.tun.critical="$CRITICAL" -cp "$CP" \
    org.kextnet.it.bench.TunEchoMain dev "$DEV" netns "$NS" peer "$PEER/24" local "$LOCAL/24" \
    queues "$QUEUES" seconds $(( WARM + DUR + 2 )) warmup $(( WARM + 1 )) > "$log" 2>&1 & PID=$!
  wait_for 60 grep -q READY "$log" || { echo "kextnet did not start: $(cat "$log")" >&2; return 1; }
  if [ "$WARM" -gt 0 ]; then load "$WARM" "$W/k.$1.warm"; fi
  measure "k.$1"
  KCPU+=("$CPU_US")
  # It ends by itself (its own 'seconds') and then prints its counters.
  wait_for 30 bash -c "! kill -0 $PID" || true
  stop_pid "$PID"; PID=""
  OUT=$(field rx_pps "$W/k.$1.gen")
}

stats() {  # median min max of the arguments
  printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "%.10g %.10g %.10g", m, v[1], v[NR]}'
}

C=() K=() CCPU=() KCPU=()
echo "# $(uname -r), $(nproc) CPUs, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$REPS"); do
  run_c "$r"; c=$OUT; C+=("$c")
  run_kextnet "$r"; k=$OUT; K+=("$k")
  echo "# run $r: C reflector $c echoes/s (offered $(field tx_pps "$W/c.$r.gen")), kextnet $k echoes/s (offered $(field tx_pps "$W/k.$r.gen")); kextnet: $(grep RESULT "$W/k.$r.log" | cut -d' ' -f3- || echo 'no result')"
done
read -r cm cmin cmax <<<"$(stats "${C[@]}")"
read -r km kmin kmax <<<"$(stats "${K[@]}")"
echo "TUN UDP echo, $SIZE-byte payload, $FLOWS flow(s), $REPS x $DUR s after ${WARM} s warm-up; echoes/s received by the sender:"
printf '  C reflector (%d queue(s)):             median %s (min %s, max %s)  runs: %s\n' "$CQUEUES" "$cm" "$cmin" "$cmax" "${C[*]}"
printf '  kextnet TunEchoMain (%d queue(s)):     median %s (min %s, max %s)  runs: %s\n' "$QUEUES" "$km" "$kmin" "$kmax" "${K[*]}"
R=()
for i in "${!C[@]}"; do R+=("$(awk -v k="${K[$i]}" -v c="${C[$i]}" 'BEGIN { printf "%.3f", (c > 0 ? k / c : 0) }')"); done
awk -v k="$km" -v c="$cm" 'BEGIN { printf "  ratio of the medians, kextnet / C reflector: %.2f\n", (c > 0 ? k / c : 0) }'
echo "  ratio in each run (C and kextnet back to back): ${R[*]}"
read -r ccm _ _ <<<"$(stats "${CCPU[@]}")"
read -r kcm _ _ <<<"$(stats "${KCPU[@]}")"
echo "  responder CPU time per echo (user+system, all threads; median): C reflector $ccm us, kextnet $kcm us (runs: C ${CCPU[*]}; kextnet ${KCPU[*]})"
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
