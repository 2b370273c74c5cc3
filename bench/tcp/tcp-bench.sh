#!/usr/bin/env bash
# tcp-bench.sh - TCP between Linux and kextnet over a plain TUN device, beside its same-run references: the C
# ACK-only TUN reader of ../shared/bench (tunbench -m tcpack) and Linux to Linux over a veth pair.
#
#   sudo bench/tcp/tcp-bench.sh [clean|impaired|cps|all]
#
# clean, for each of REPS rounds, the three set-ups one after the other (C reader, kextnet, veth):
#   bulk in   one flow, Linux sends (loadgen tcp: 256 KiB writes for DUR s) to the C reader's port 5001, to the
#             stack's discard service (9), or to iperf3 on the other side of the veth pair; the figure is what
#             Linux's sender wrote per second (the C reader's own count of in-order payload is printed beside it);
#   bulk out  one flow, Linux reads for DUR s from the stack's chargen service (19), from bench/tcp/tunsend (the C
#             reader's mirror: a minimal C sender on the same kind of device, one write per segment), or iperf3 -R
#             over veth;
#   cps       connections per second: open, write SIZE bytes, read them back, close (bench/tcp/tcpcps, CPS_THREADS
#             clients) against the stack's echo service (7), or against tcpcps's one-thread echo server over veth.
# cps, for each of REPS rounds, only the connections per second of clean (kextnet, then veth), with kextnet's CPU time
#   per connection: the quick measure of connection cost (all does not include it: clean has it).
# impaired, for each impairment of IMPAIRMENTS ("loss", "delay", "both"), REPS rounds of kextnet then veth, bulk in
#   and out for IDUR s each. The Linux client (namespace A) reaches both the veth peer B and kextnet's TUN device
#   through a router namespace R whose forwarding passes bench/tcp/tundelay, a delay line between two TUN devices
#   (RTT_MS, half each way; 0 for "loss": this kernel has no netem). Loss: nftables in R drops LOSS % of the TCP
#   packets that leave the line (numgen random), once per direction, on the path: a drop in the sender's own output
#   hook is not a loss (TCP sees the error and sends again). DELAY_BY=netem instead puts kextnet's device in A's place
#   with netem, the impairment sample, delaying on the stack's side, and drops in the client's namespace (which leaves
#   the Linux-sends direction without real loss, for the reason above).
#
# Environment: REPS (3) DUR (5) WARM (4) IDUR (10) MTU (1500) LOSS (1) RTT_MS (20) IMPAIRMENTS ("loss delay both")
#   DELAY_BY (line; or netem, see above) SIZE (64) CPS_THREADS (1) SKIP_BUILD (0) KEEP_LOGS (0)
#   OFFLOAD (unset: the tun type's default, on; off: kextnet's TUN device without virtio-net headers, checksum and
#   segmentation offloads; both: clean runs kextnet twice a round, offloads on then off, and reports their ratio; set,
#   it is passed as the device's offload option, which builds before it do not know)
#   WORK (log directory, kept) JAVA_HOME JAVA_OPTS (added to kextnet's JVM: -XX:StartFlightRecording=... to profile)
#   KERNEL_CLASSES (another build's kernel/target/classes, to compare builds)
#   VETH_CC (Linux's congestion control for the veth flows: iperf3 -C; default the system's, bbr on this machine)
#   KEXTNET_CC (kextnet's congestion control for every connection: cubic, the default, newreno or bbr)
#   TAG (a word in the namespaces' names, kxt-pf-TAG-PID-*, to tell whose they are)
# Everything it creates (namespaces kxt-pf-PID-*, devices, processes) is its own and removed on exit, also on
# failure; only 10.211.0.0/24 and 10.212.0.0/16 inside those namespaces are used. Needs root, gcc, iproute2,
# nftables, iperf3, JDK 25 and Maven (for the build), and ../shared/bench (or SHARED_BENCH) for the C reader.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$ROOT/bench/lib.sh"
WHAT=${1:-all}
REPS=${REPS:-3} DUR=${DUR:-5} WARM=${WARM:-4} IDUR=${IDUR:-10} MTU=${MTU:-1500} LOSS=${LOSS:-1} RTT_MS=${RTT_MS:-20}
IMPAIRMENTS=${IMPAIRMENTS:-loss delay both} DELAY_BY=${DELAY_BY:-line} SIZE=${SIZE:-64} CPS_THREADS=${CPS_THREADS:-1} SKIP_BUILD=${SKIP_BUILD:-0}
OFFLOAD=${OFFLOAD:-} VETH_CC=${VETH_CC:-} KEXTNET_CC=${KEXTNET_CC:-}
SHARED_BENCH=${SHARED_BENCH:-$ROOT/../shared/bench}
[ -f "$SHARED_BENCH/tunbench.c" ] || SHARED_BENCH=/work/shared/bench
[ "$(id -u)" = 0 ] || { echo "tcp-bench: needs root (namespaces, /dev/net/tun)" >&2; exit 1; }
case $WHAT in clean|impaired|cps|all) ;; *) echo "usage: tcp-bench.sh [clean|impaired|cps|all]" >&2; exit 2;; esac
case $DELAY_BY in line|netem) ;; *) echo "tcp-bench: DELAY_BY is line or netem" >&2; exit 2;; esac
case $OFFLOAD in on|off|both|"") ;; *) echo "tcp-bench: OFFLOAD is on, off or both" >&2; exit 2;; esac
KMODE=$OFFLOAD; [ "$OFFLOAD" = both ] && KMODE=on
for n in REPS DUR WARM IDUR MTU RTT_MS SIZE CPS_THREADS; do
  [[ ${!n} =~ ^[0-9]+$ ]] || { echo "tcp-bench: $n must be a whole number" >&2; exit 2; }
done
[[ $LOSS =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "tcp-bench: LOSS is a percentage" >&2; exit 2; }
[ "$REPS" -ge 1 ] && [ "$REPS" -le 20 ] && [ "$DUR" -ge 1 ] && [ "$DUR" -le 60 ] && [ "$IDUR" -ge 1 ] && [ "$IDUR" -le 120 ] \
  && [ "$WARM" -le 30 ] && [ "$MTU" -ge 576 ] && [ "$MTU" -le 65000 ] && [ "$RTT_MS" -le 1000 ] && [ "$SIZE" -ge 1 ] \
  && [ "$SIZE" -le 65536 ] && [ "$CPS_THREADS" -ge 1 ] && [ "$CPS_THREADS" -le 64 ] \
  || { echo "tcp-bench: REPS 1..20, DUR 1..60, IDUR 1..120, WARM <=30, MTU 576..65000, RTT_MS <=1000, SIZE 1..65536, CPS_THREADS 1..64" >&2; exit 2; }

JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
"$JAVA_HOME/bin/java" -version 2>&1 | grep -q 'version "25' || JAVA_HOME=$(ls -d /usr/lib/jvm/temurin-25* | head -1)
export JAVA_HOME

if [ -n "${WORK:-}" ]; then W=$WORK; OWN_W=0; else W=$(mktemp -d "${TMPDIR:-/tmp}/kextnet-tcp-bench.XXXXXX"); OWN_W=1; fi
mkdir -p "$W"
[[ ${TAG:-} =~ ^[a-z0-9]{0,8}$ ]] || { echo "tcp-bench: TAG is up to 8 lower-case letters and digits" >&2; exit 2; }
P="kxt-pf-${TAG:+$TAG-}$$"
NS_L=$P-l NS_A=$P-a NS_B=$P-b NS_R=$P-r
DEV="kpf$(( $$ % 100000 ))"
LINUX=10.211.0.1 STACK=10.211.0.2
PIDS=() LINE_PID=""

stop_all() { local p; for p in "${PIDS[@]}"; do stop_pid "$p"; done; PIDS=(); }
del_ns() { local n; for n in "$@"; do ip netns del "$n" 2>/dev/null || true; done; }
cleanup() {
  stop_all; stop_pid "$LINE_PID"
  del_ns "$NS_L" "$NS_A" "$NS_B" "$NS_R"
  if [ "$OWN_W" = 1 ] && [ "${KEEP_LOGS:-0}" != 1 ]; then rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

HZ=$(getconf CLK_TCK)
per_cpu() {  # per_cpu GBPS SECS TICKS: Gbit/s per CPU second of the responder (the rate if it had a core of its own)
  awk -v g="$1" -v s="$2" -v t="$3" -v hz="$HZ" 'BEGIN { printf "%.3f", (t > 0 ? g * s / (t / hz) : 0) }'
}
loadavg() { cut -d' ' -f1 /proc/loadavg; }

echo "# building (logs in $W)"
gcc -O2 -Wall -o "$W/tunbench" "$SHARED_BENCH/tunbench.c"
gcc -O2 -Wall -pthread -o "$W/loadgen" "$SHARED_BENCH/loadgen.c"
gcc -O2 -Wall -pthread -o "$W/tcpcps" "$ROOT/bench/tcp/tcpcps.c"
gcc -O2 -Wall -o "$W/tundelay" "$ROOT/bench/tcp/tundelay.c"
gcc -O2 -Wall -o "$W/tunsend" "$ROOT/bench/tcp/tunsend.c"
goals=(compile)
[ "$SKIP_BUILD" = 1 ] && goals=()
(cd "$ROOT" && mvn -q -B -o -pl bench -am "${goals[@]}" dependency:copy-dependencies \
   -DincludeScope=runtime -DexcludeGroupIds=org.kextnet -DoutputDirectory="$W/lib") >"$W/build.log" 2>&1 \
  || { cat "$W/build.log"; exit 1; }
CP="$ROOT/bench/target/classes:${KERNEL_CLASSES:-$ROOT/kernel/target/classes}:$ROOT/kpi/target/classes:$ROOT/examples/netem/target/classes:$W/lib/*"

# The Linux side of the TUN device: a namespace of its own, IPv4 only, a client that may reuse TIME-WAIT ports.
client_sysctls() {
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
    net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="10000 65000"
}
ip netns add "$NS_L"
ip -n "$NS_L" link set lo up
client_sysctls "$NS_L"

# loss_rules NS: drop LOSS % of the TCP packets in and out of namespace NS (nftables, numgen random).
loss_rules() {
  local per10k
  per10k=$(awk -v l="$LOSS" 'BEGIN { printf "%d", l * 100 + 0.5 }')
  ip netns exec "$1" nft -f - <<EOF
table inet pfloss {
  chain out { type filter hook output priority 0; meta l4proto tcp numgen random mod 10000 < $per10k drop; }
  chain in { type filter hook input priority 0; meta l4proto tcp numgen random mod 10000 < $per10k drop; }
}
EOF
}
# router_loss_rules: drop LOSS % of the TCP packets leaving the delay line in the router, each direction once. A drop on
# the path, not on the sender's host: a segment that the sender's own output hook drops is an error TCP sees at once and
# sends again, not a loss.
router_loss_rules() {
  local per10k
  per10k=$(awk -v l="$LOSS" 'BEGIN { printf "%d", l * 100 + 0.5 }')
  ip netns exec "$NS_R" nft -f - <<EOF
table inet pfloss {
  chain forwarded { type filter hook forward priority 0; iifname { "dla", "dlb" } meta l4proto tcp numgen random mod 10000 < $per10k counter drop; }
}
EOF
}
loss_counts() { ip netns exec "$1" nft list table inet pfloss 2>/dev/null | grep -c drop || true; }

# ---- the three set-ups ----

start_c() {  # start_c LOG COMMAND...: a C responder (the ACK-only reader, the sender) on the TUN device
  local log=$1; shift
  ip -n "$NS_L" link del "$DEV" 2>/dev/null || true
  ip netns exec "$NS_L" "$@" > "$log" 2>&1 & PIDS+=($!)
  wait_for 10 ip -n "$NS_L" link show "$DEV" || { echo "$1 did not create $DEV: $(cat "$log")" >&2; return 1; }
  ip -n "$NS_L" addr add "$LINUX/24" dev "$DEV"
  ip -n "$NS_L" link set "$DEV" mtu "$MTU" up
  sleep 0.2
}

start_kextnet() {  # start_kextnet LOG SECONDS [NETEM ARGS] [NETNS]: the stack on the TUN device, its services listening
  local log=$1 secs=$2 netem=${3:-} ns=${4:-$NS_L}
  local extra=()
  [ -n "$netem" ] && extra=(netem "$netem")
  [ "$ns" != "$NS_L" ] && extra+=(route "default $LINUX")
  [ -n "$KMODE" ] && extra+=(offload "$KMODE")
  [ -n "$KEXTNET_CC" ] && extra+=(cc "$KEXTNET_CC")
  "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
    -XX:+UseCompactObjectHeaders -Xms512m -Xmx512m -Dkextnet.unchecked=true ${JAVA_OPTS:-} -cp "$CP" \
    org.kextnet.bench.TunTcpMain dev "$DEV" netns "$ns" peer "$LINUX/24" local "$STACK/24" mtu "$MTU" \
    seconds "$secs" "${extra[@]}" > "$log" 2>&1 & PIDS+=($!)
  KPID=$!
  wait_for 60 grep -q READY "$log" || { echo "kextnet did not start: $(cat "$log")" >&2; return 1; }
}

# veth_up direct|routed: A and B joined by a veth pair, or through router R whose forwarding passes tundelay.
VB=""
veth_up() {
  local topo=$1
  stop_pid "$LINE_PID"; LINE_PID=""
  del_ns "$NS_A" "$NS_B" "$NS_R"
  ip netns add "$NS_A"; ip netns add "$NS_B"
  ip -n "$NS_A" link set lo up; ip -n "$NS_B" link set lo up
  client_sysctls "$NS_A"; client_sysctls "$NS_B"
  if [ "$1" = direct ]; then
    ip link add vpa netns "$NS_A" type veth peer name vpb netns "$NS_B"
    ip -n "$NS_A" addr add 10.212.1.1/24 dev vpa; ip -n "$NS_B" addr add 10.212.1.2/24 dev vpb
    ip -n "$NS_A" link set vpa mtu "$MTU" up; ip -n "$NS_B" link set vpb mtu "$MTU" up
    VB=10.212.1.2
  else
    ip netns add "$NS_R"; ip -n "$NS_R" link set lo up
    ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
      net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip link add vpa netns "$NS_A" type veth peer name vra netns "$NS_R"
    ip link add vpb netns "$NS_B" type veth peer name vrb netns "$NS_R"
    ip -n "$NS_A" addr add 10.212.1.1/24 dev vpa; ip -n "$NS_R" addr add 10.212.1.2/24 dev vra
    ip -n "$NS_B" addr add 10.212.2.1/24 dev vpb; ip -n "$NS_R" addr add 10.212.2.2/24 dev vrb
    local d; for d in "$NS_A vpa" "$NS_B vpb" "$NS_R vra" "$NS_R vrb"; do set -- $d; ip -n "$1" link set "$2" mtu "$MTU" up; done
    ip -n "$NS_A" route add 10.212.2.0/24 via 10.212.1.2
    ip -n "$NS_B" route add 10.212.1.0/24 via 10.212.2.2
    # A's packets for B enter the delay line at dla and leave it at dlb, where R forwards them to B; and back.
    ip netns exec "$NS_R" "$W/tundelay" dla dlb $((LINE_MS / 2)) $((LINE_MS - LINE_MS / 2)) 3600 > "$W/tundelay.log" 2>&1 & LINE_PID=$!
    wait_for 10 ip -n "$NS_R" link show dlb || { echo "tundelay did not start: $(cat "$W/tundelay.log")" >&2; return 1; }
    for d in dla dlb; do
      ip -n "$NS_R" link set "$d" mtu "$MTU" up
      ip netns exec "$NS_R" sysctl -qw "net.ipv4.conf.$d.rp_filter=0"
    done
    ip netns exec "$NS_R" sysctl -qw net.ipv4.conf.vra.rp_filter=0 net.ipv4.conf.vrb.rp_filter=0
    ip -n "$NS_R" route add default dev dla table 100; ip -n "$NS_R" rule add iif vra lookup 100
    ip -n "$NS_R" route add default dev dlb table 101; ip -n "$NS_R" rule add iif vrb lookup 101
    VB=10.212.2.1
  fi
  ip netns exec "$NS_A" ping -c 2 -W 2 "$VB" >/dev/null || { echo "veth: no ping" >&2; return 1; }
  echo "# veth $topo: ping rtt min/avg/max $(ip netns exec "$NS_A" ping -c 3 -i 0.2 "$VB" | grep -o '= [0-9./]*' | cut -c3-) ms"
}

iperf() {  # iperf OUT [-R]: one flow from A to B (or back), DUR s; prints the receiver's Gbit/s
  local out=$1; shift
  ip netns exec "$NS_A" timeout $((CUR_DUR + 15)) iperf3 -c "$VB" -t "$CUR_DUR" ${VETH_CC:+-C "$VETH_CC"} -J "$@" > "$out" 2>&1 || true
  python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]/1e9, 4))' "$out" 2>/dev/null || echo 0
}
loadgen_in() {  # loadgen_in NS DST PORT OUT: Linux writes for CUR_DUR s; prints write Gbit/s
  ip netns exec "$1" timeout $((CUR_DUR + 15)) "$W/loadgen" tcp "$2" "$3" "$CUR_DUR" > "$4" 2>&1 || true
  v=$(field write_Gbps "$4"); echo "${v:-0}"
}
sink_out() {  # sink_out NS DST PORT OUT: Linux reads for CUR_DUR s; prints read Gbit/s
  ip netns exec "$1" timeout $((CUR_DUR + 15)) "$W/tcpcps" sink "$2" "$3" "$CUR_DUR" > "$4" 2>&1 || true
  v=$(field read_Gbps "$4"); echo "${v:-0}"
}
cps() {  # cps NS DST PORT OUT: connections per second
  ip netns exec "$1" timeout $((DUR + 15)) "$W/tcpcps" client "$2" "$3" "$DUR" "$SIZE" "$CPS_THREADS" 2000000 > "$4" 2>&1 || true
  v=$(field cps "$4"); echo "${v:-0}"
}

cps_cpu() {  # cps_cpu OUT TICKS: the responder's CPU microseconds per connection tcpcps completed
  awk -v n="$(field conns "$1")" -v t="$2" -v hz="$HZ" 'BEGIN { printf "%.1f", (n > 0 ? t / hz * 1e6 / n : 0) }'
}

stats() {  # median min max of the arguments
  printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "%.4g %.4g %.4g", m, v[1], v[NR]}'
}
ratios() {  # ratios "A..." "B...": A[i]/B[i] for each round
  local -a a=($1) b=($2); local i out=()
  for i in "${!a[@]}"; do out+=("$(awk -v x="${a[$i]}" -v y="${b[$i]}" 'BEGIN { printf "%.3f", (y > 0 ? x / y : 0) }')"); done
  echo "${out[*]}"
}
report() {  # report LABEL "values..." [REF_LABEL "ref values..."]
  local m lo hi
  read -r m lo hi <<<"$(stats $2)"
  printf '  %-46s median %-8s (min %s, max %s)  rounds: %s\n' "$1" "$m" "$lo" "$hi" "$2"
  if [ $# -ge 4 ]; then
    local r; r=$(ratios "$2" "$4")
    read -r m lo hi <<<"$(stats $r)"
    printf '  %-46s median %-8s rounds: %s\n' "  ratio to $3" "$m" "$r"
  fi
}

ratio_line() {  # ratio_line LABEL "A..." "B...": the median of A[i]/B[i] and each round's
  local r m lo hi
  r=$(ratios "$2" "$3")
  read -r m lo hi <<<"$(stats $r)"
  printf '  %-46s median %-8s rounds: %s\n' "$1" "$m" "$r"
}

echo "# $(uname -r), $(nproc) CPUs, load average at start: $(cut -d' ' -f1-3 /proc/loadavg); MTU $MTU; kextnet offload ${OFFLOAD:-default}"
echo "# congestion control: kextnet ${KEXTNET_CC:-cubic}, Linux ${VETH_CC:-$(sysctl -n net.ipv4.tcp_congestion_control)}"

# kextnet_round TAG: one round of kextnet (offloads as KMODE says): warm-up, then bulk in, bulk out and connections;
# sets RIN ROUT RCPS (rates) and RINCPU ROUTCPU RCPSCPU (per CPU second, CPU per connection).
kextnet_round() {
  local r=$1 t0 t1 t2 t3
  start_kextnet "$W/k.$r.log" $((3 * WARM + 3 * DUR + 30))
  if [ "$WARM" -gt 0 ]; then
    CUR_DUR=$WARM
    loadgen_in "$NS_L" "$STACK" 9 "$W/k.$r.warm.in" >/dev/null
    sink_out "$NS_L" "$STACK" 19 "$W/k.$r.warm.out" >/dev/null
    ip netns exec "$NS_L" timeout $((WARM + 15)) "$W/tcpcps" client "$STACK" 7 "$WARM" "$SIZE" "$CPS_THREADS" > "$W/k.$r.warm.cps" 2>&1 || true
    CUR_DUR=$DUR
  fi
  t0=$(cpu_ticks "$KPID")
  RIN=$(loadgen_in "$NS_L" "$STACK" 9 "$W/k.$r.in")
  t1=$(cpu_ticks "$KPID")
  ROUT=$(sink_out "$NS_L" "$STACK" 19 "$W/k.$r.out")
  t2=$(cpu_ticks "$KPID")
  RCPS=$(cps "$NS_L" "$STACK" 7 "$W/k.$r.cps")
  t3=$(cpu_ticks "$KPID")
  RINCPU=$(per_cpu "$RIN" "$DUR" $((t1 - t0)))
  ROUTCPU=$(per_cpu "$ROUT" "$DUR" $((t2 - t1)))
  RCPSCPU=$(cps_cpu "$W/k.$r.cps" $((t3 - t2)))
  stop_all
}

if [ "$WHAT" = clean ] || [ "$WHAT" = all ]; then
  CIN=() CACK=() COUT=() COUTCPU=() KIN=() KOUT=() KCPS=() VIN=() VOUT=() VCPS=() LOADS=() CCPU=() KINCPU=() KOUTCPU=() KCPSCPU=()
  XIN=() XOUT=() XCPS=() XINCPU=() XOUTCPU=()
  veth_up direct
  for r in $(seq "$REPS"); do
    CUR_DUR=$DUR
    LOADS+=("$(loadavg)")
    # 1. the C ACK-only reader
    start_c "$W/c.$r.log" "$W/tunbench" -i "$DEV" -m tcpack -d $((DUR + 6))
    t0=$(cpu_ticks "${PIDS[-1]}")
    CIN+=("$(loadgen_in "$NS_L" "$STACK" 5001 "$W/c.$r.gen")")
    CCPU+=("$(per_cpu "${CIN[-1]}" "$DUR" $(( $(cpu_ticks "${PIDS[-1]}") - t0 )))")
    stop_all
    v=$(field tcp_payload_Gbps "$W/c.$r.log"); CACK+=("${v:-0}")
    # 1b. the C sender (its mirror: one write per segment, go-back-N)
    start_c "$W/cs.$r.log" "$W/tunsend" -i "$DEV" -p 19 -d $((DUR + 6))
    t0=$(cpu_ticks "${PIDS[-1]}")
    COUT+=("$(sink_out "$NS_L" "$STACK" 19 "$W/cs.$r.out")")
    COUTCPU+=("$(per_cpu "${COUT[-1]}" "$DUR" $(( $(cpu_ticks "${PIDS[-1]}") - t0 )))")
    stop_all
    # 2. kextnet: warm up each workload (the JIT), then measure (with OFFLOAD=both, offloads on, then again off)
    kextnet_round "$r"
    KIN+=("$RIN"); KOUT+=("$ROUT"); KCPS+=("$RCPS"); KINCPU+=("$RINCPU"); KOUTCPU+=("$ROUTCPU"); KCPSCPU+=("$RCPSCPU")
    if [ "$OFFLOAD" = both ]; then
      KMODE=off; kextnet_round "$r.off"; KMODE=on
      XIN+=("$RIN"); XOUT+=("$ROUT"); XCPS+=("$RCPS"); XINCPU+=("$RINCPU"); XOUTCPU+=("$ROUTCPU")
    fi
    # 3. Linux to Linux over veth
    ip netns exec "$NS_B" iperf3 -s -B "$VB" > "$W/iperf3.$r.log" 2>&1 & PIDS+=($!)
    ip netns exec "$NS_B" "$W/tcpcps" server "$VB" 7 $((2 * DUR + 60)) > "$W/v.$r.server" 2>&1 & PIDS+=($!)
    sleep 0.5
    VIN+=("$(iperf "$W/v.$r.in.json")")
    VOUT+=("$(iperf "$W/v.$r.out.json" -R)")
    VCPS+=("$(cps "$NS_A" "$VB" 7 "$W/v.$r.cps")")
    stop_all
    echo "# round $r (load $(loadavg)): C reader in ${CIN[-1]} (acked ${CACK[-1]}); C sender out ${COUT[-1]}; kextnet in ${KIN[-1]} out ${KOUT[-1]} cps ${KCPS[-1]};" \
      "veth in ${VIN[-1]} out ${VOUT[-1]} cps ${VCPS[-1]}; kextnet: $(grep RESULT "$W/k.$r.log" | cut -d' ' -f3- || echo 'no result')"
    if [ "$OFFLOAD" = both ]; then
      echo "#   kextnet offloads off: in ${XIN[-1]} out ${XOUT[-1]} cps ${XCPS[-1]}; $(grep RESULT "$W/k.$r.off.log" | cut -d' ' -f3- || echo 'no result')"
    fi
  done
  echo "TCP over TUN, clean, MTU $MTU, $REPS rounds of $DUR s (kextnet after ${WARM} s of warm-up per workload), load average at each round's start: ${LOADS[*]}"
  echo " bulk in (Linux sends, Gbit/s written by the sender):"
  report "C ACK-only TUN reader" "${CIN[*]}"
  report "  (its count of in-order payload)" "${CACK[*]}"
  report "kextnet discard service" "${KIN[*]}" "the C reader" "${CIN[*]}"
  report "Linux to Linux over veth (iperf3)" "${VIN[*]}"
  echo " bulk in, per CPU second of the responder (Gbit/s per second of its user+system time):"
  report "C ACK-only TUN reader" "${CCPU[*]}"
  report "kextnet (the whole JVM)" "${KINCPU[*]}" "the C reader" "${CCPU[*]}"
  echo " bulk out (Linux receives, Gbit/s read):"
  report "C TUN sender (tunsend)" "${COUT[*]}"
  report "kextnet chargen service" "${KOUT[*]}" "the C sender" "${COUT[*]}"
  report "Linux to Linux over veth (iperf3 -R)" "${VOUT[*]}"
  echo " bulk out, per CPU second of the responder:"
  report "C TUN sender (tunsend)" "${COUTCPU[*]}"
  report "kextnet (the whole JVM)" "${KOUTCPU[*]}" "the C sender" "${COUTCPU[*]}"
  echo " connections per second (open, $SIZE bytes echoed, close; $CPS_THREADS client thread(s)):"
  report "kextnet echo service" "${KCPS[*]}" "veth" "${VCPS[*]}"
  report "Linux to Linux over veth (tcpcps server)" "${VCPS[*]}"
  report "kextnet, CPU time per connection (us)" "${KCPSCPU[*]}"
  if [ "$OFFLOAD" = both ]; then
    echo " kextnet with offloads off, the same rounds (the figures above are with them on):"
    report "bulk in (Gbit/s written)" "${XIN[*]}" "the C reader" "${CIN[*]}"
    ratio_line "  offloads on / off" "${KIN[*]}" "${XIN[*]}"
    report "bulk in per CPU second" "${XINCPU[*]}" "the C reader" "${CCPU[*]}"
    ratio_line "  offloads on / off" "${KINCPU[*]}" "${XINCPU[*]}"
    report "bulk out (Gbit/s read)" "${XOUT[*]}" "the C sender" "${COUT[*]}"
    ratio_line "  offloads on / off" "${KOUT[*]}" "${XOUT[*]}"
    report "bulk out per CPU second" "${XOUTCPU[*]}"
    ratio_line "  offloads on / off" "${KOUTCPU[*]}" "${XOUTCPU[*]}"
    report "connections per second" "${XCPS[*]}" "veth" "${VCPS[*]}"
    ratio_line "  offloads on / off" "${KCPS[*]}" "${XCPS[*]}"
  fi
fi

if [ "$WHAT" = cps ]; then
  KCPS=() VCPS=() LOADS=() KCPSCPU=()
  veth_up direct
  for r in $(seq "$REPS"); do
    LOADS+=("$(loadavg)")
    start_kextnet "$W/k.$r.log" $((WARM + DUR + 30))
    [ "$WARM" -gt 0 ] && { ip netns exec "$NS_L" timeout $((WARM + 15)) "$W/tcpcps" client "$STACK" 7 "$WARM" "$SIZE" "$CPS_THREADS" > "$W/k.$r.warm.cps" 2>&1 || true; }
    t0=$(cpu_ticks "$KPID")
    KCPS+=("$(cps "$NS_L" "$STACK" 7 "$W/k.$r.cps")")
    KCPSCPU+=("$(cps_cpu "$W/k.$r.cps" $(( $(cpu_ticks "$KPID") - t0 )))")
    stop_all
    ip netns exec "$NS_B" "$W/tcpcps" server "$VB" 7 $((DUR + 30)) > "$W/v.$r.server" 2>&1 & PIDS+=($!)
    sleep 0.5
    VCPS+=("$(cps "$NS_A" "$VB" 7 "$W/v.$r.cps")")
    stop_all
    echo "# round $r (load $(loadavg)): kextnet cps ${KCPS[-1]} (${KCPSCPU[-1]} us CPU each); veth cps ${VCPS[-1]};" \
      "kextnet: $(grep RESULT "$W/k.$r.log" | cut -d' ' -f3- || echo 'no result')"
  done
  echo "TCP over TUN, connections per second, MTU $MTU, $REPS rounds of $DUR s (kextnet after ${WARM} s of warm-up), load average at each round's start: ${LOADS[*]}"
  echo " connections per second (open, $SIZE bytes echoed, close; $CPS_THREADS client thread(s)):"
  report "kextnet echo service" "${KCPS[*]}" "veth" "${VCPS[*]}"
  report "Linux to Linux over veth (tcpcps server)" "${VCPS[*]}"
  report "kextnet, CPU time per connection (us)" "${KCPSCPU[*]}"
fi

if [ "$WHAT" = impaired ] || [ "$WHAT" = all ]; then
  for imp in $IMPAIRMENTS; do
    netem=""; topo=routed; kns=$NS_R; cns=$NS_A; LINE_MS=$RTT_MS
    case $imp in
      loss) desc="$LOSS % loss each way"; LINE_MS=0;;
      delay) desc="$RTT_MS ms RTT";;
      both) desc="$LOSS % loss each way, $RTT_MS ms RTT";;
      *) echo "tcp-bench: unknown impairment $imp (loss, delay, both)" >&2; exit 2;;
    esac
    if [ "$DELAY_BY" = netem ]; then
      kns=$NS_L; cns=$NS_L; desc="$desc (kextnet: netem on its device, loss in the client's namespace)"
      [ "$imp" = loss ] && topo=direct
      [ "$imp" != loss ] && netem="both delay $((RTT_MS / 2))ms limit 100000"
    else
      desc="$desc (both through the router and its delay line of $LINE_MS ms)"
    fi
    KIN=() KOUT=() VIN=() VOUT=() LOADS=()
    stop_all
    veth_up "$topo"
    if [ "$imp" != delay ]; then
      if [ "$topo" = routed ]; then router_loss_rules; else loss_rules "$NS_A"; fi
      ip -n "$NS_A" link set vpa gso_max_segs 1; ip -n "$NS_B" link set vpb gso_max_segs 1
    fi
    if [ "$kns" = "$NS_R" ]; then  # kextnet's device in the router, behind the same delay line as B
      ip -n "$NS_A" route add 10.211.0.0/24 via 10.212.1.2
    fi
    for r in $(seq "$REPS"); do
      CUR_DUR=$IDUR
      LOADS+=("$(loadavg)")
      start_kextnet "$W/k.$imp.$r.log" $((2 * WARM + 2 * IDUR + 30)) "$netem" "$kns"
      if [ "$kns" = "$NS_R" ]; then
        ip netns exec "$NS_R" sysctl -qw "net.ipv4.conf.$DEV.rp_filter=0"
        ip -n "$NS_R" rule add iif "$DEV" lookup 101
      else  # DELAY_BY=netem
        ip netns exec "$NS_L" nft delete table inet pfloss 2>/dev/null || true
        if [ "$imp" != delay ]; then
          loss_rules "$NS_L"
          ip -n "$NS_L" link set "$DEV" gso_max_segs 1
        fi
      fi
      echo "# kextnet $imp: ping rtt min/avg/max $(ip netns exec "$cns" ping -c 3 -i 0.2 "$STACK" | grep -o '= [0-9./]*' | cut -c3-) ms"
      if [ "$WARM" -gt 0 ]; then
        CUR_DUR=$WARM
        loadgen_in "$cns" "$STACK" 9 "$W/k.$imp.$r.warm.in" >/dev/null
        sink_out "$cns" "$STACK" 19 "$W/k.$imp.$r.warm.out" >/dev/null
        CUR_DUR=$IDUR
      fi
      KIN+=("$(loadgen_in "$cns" "$STACK" 9 "$W/k.$imp.$r.in")")
      KOUT+=("$(sink_out "$cns" "$STACK" 19 "$W/k.$imp.$r.out")")
      stop_all
      [ "$kns" = "$NS_R" ] && ip -n "$NS_R" rule del iif "$DEV" lookup 101 2>/dev/null || true
      ip netns exec "$NS_B" iperf3 -s -B "$VB" > "$W/iperf3.$imp.$r.log" 2>&1 & PIDS+=($!)
      sleep 0.5
      VIN+=("$(iperf "$W/v.$imp.$r.in.json")")
      VOUT+=("$(iperf "$W/v.$imp.$r.out.json" -R)")
      stop_all
      echo "# $imp round $r (load $(loadavg)): kextnet in ${KIN[-1]} out ${KOUT[-1]}; veth in ${VIN[-1]} out ${VOUT[-1]};" \
        "kextnet: $(grep RESULT "$W/k.$imp.$r.log" | cut -d' ' -f3- || echo 'no result'); $(grep -h NETEM "$W/k.$imp.$r.log" | cut -c1-400)"
      grep -i quarantin "$W/k.$imp.$r.log" | head -2 || true
    done
    [ "$topo" = routed ] && [ "$imp" != delay ] && echo "# router drops: $(ip netns exec "$NS_R" nft list table inet pfloss | grep -o 'packets [0-9]*')"
    echo "TCP over TUN, $desc, MTU $MTU, $REPS rounds of $IDUR s, load average at each round's start: ${LOADS[*]}"
    report "bulk in: kextnet discard service" "${KIN[*]}" "veth" "${VIN[*]}"
    report "bulk in: Linux to Linux (iperf3)" "${VIN[*]}"
    report "bulk out: kextnet chargen service" "${KOUT[*]}" "veth" "${VOUT[*]}"
    report "bulk out: Linux to Linux (iperf3 -R)" "${VOUT[*]}"
  done
fi
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
