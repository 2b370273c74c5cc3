#!/usr/bin/env bash
# Runs packetdrill scripts on kextnet, on the kernel's virtual clock:
#   packetdrill/run-script.sh [packetdrill options] SCRIPT.pkt
# with the addresses and definitions of packetdrill's own run_all.py (IPv4: the stack is 192.168.0.1/16, the remote
# end 192.0.2.1). Options given here come after those and override them, e.g. -v (packetdrill's packet log) or
# --so_flags=verbose (the shim's: every packet with its virtual time, the kernel's counters at the end).
# Builds packetdrill and the shim first if they are not built (build.sh). Needs root: packetdrill locks its memory.
# A script's shell commands (`...` lines) run on this machine: run scripts that change sysctls in a network namespace
# of their own, as the JUnit runner does, with --isolate as the first option: the script then runs in a new network
# namespace (unshare --net) that has a placeholder TUN device, tun0, for the commands of packetdrill's own scripts
# that configure packetdrill's device (defaults.sh: tc qdisc add dev tun0 ...); the shim itself uses no device.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ "${1:-}" = --isolate ]; then
  shift
  exec unshare --net -- "$0" --in-new-namespace "$@"
fi
if [ "${1:-}" = --in-new-namespace ]; then
  shift
  ip tuntap add dev tun0 mode tun
fi
target="$here/target"
if [ ! -x "$target/packetdrill/packetdrill" ] || [ ! -f "$target/native/libkextnet-packetdrill.so" ]; then
  "$here/build.sh" >/dev/null
fi
exec "$target/packetdrill/packetdrill" --so_filename="$target/native/libkextnet-packetdrill.so" \
  --ip_version=ipv4 --local_ip=192.168.0.1 --gateway_ip=192.168.0.1 --netmask_ip=255.255.0.0 --remote_ip=192.0.2.1 \
  --send_omit_free -D TFO_COOKIE=3021b9d889017eeb -D CODE=host_unreachable -D CMSG_LEVEL_IP=SOL_IP \
  -D CMSG_TYPE_RECVERR=IP_RECVERR "$@"
