#!/bin/sh
# Builds the bench module and runs FilterStreamCheck (issue 4's stream goal: >= 10,000 replaces of an IP filter
# while >= 1 Mpps of sequence-numbered packets are forwarded; 0 lost, duplicated or reordered).
#   bench/run-stream-check.sh [--pps 1200000] [--replaces 10000] [--replace-rate 5000] [--seconds 5] [--warmup 2] [--max-seconds 60]
# Exits with 1 when a goal was missed. MAVEN_REPO_LOCAL as for run-jmh.sh.
MAIN=org.kextnet.bench.FilterStreamCheck exec "$(dirname "$0")/run-jmh.sh" "$@"
