#!/usr/bin/env bash
# Fuzzes one Jazzer target for a given time (docs/reliability.md, "Fuzzing").
#
# Usage: scripts/fuzz.sh TARGET [MINUTES]     (MINUTES defaults to 10)
#   TARGET is a fuzz test class (in kernel, loader or a sample), with its method when the class has more than one @FuzzTest
#   (Jazzer fuzzes one per run): IpInputFuzzTest, RpcDecoderFuzzTest#decodeInfo, ...
#   FUZZ_NO_BUILD=1 skips compiling (for runs side by side once the classes are built).
#
# The normal build only replays the committed inputs (src/test/resources/<package>/<Class>Inputs/<method>/);
# with JAZZER_FUZZ set, Jazzer's JUnit integration fuzzes instead, with every sanitizer hook (the kernel's
# fuzz-regression profile turns them off only when JAZZER_FUZZ is unset). The corpus Jazzer grows is kept in
# <module>/.cifuzz-corpus/ (not committed) and picked up by the next run; a crashing input is written under
# src/test/resources/.../<Class>Inputs/<method>/crash-<sha1>, where it becomes a regression input once the bug is
# fixed. The log goes to target/fuzz/<Class>-<method>.log; the last line printed is a summary.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
export PATH="$JAVA_HOME/bin:$PATH"

TARGET="${1:?usage: scripts/fuzz.sh TARGET [MINUTES]}"
MINUTES="${2:-10}"
CLASS="${TARGET%%#*}"
SRC="$(find kernel/src/test/java loader/src/test/java examples/*/src/test/java -name "$CLASS.java" | head -1)"
[ -n "$SRC" ] || { echo "fuzz.sh: no fuzz test class $CLASS" >&2; exit 2; }
MODULE="${SRC%%/src/test/java/*}"
if [ "$CLASS" = "$TARGET" ]; then
  METHODS="$(grep -A1 '@FuzzTest' "$SRC" | sed -n 's/.*void \([A-Za-z0-9_]*\)(.*/\1/p')"
  [ "$(echo "$METHODS" | wc -l)" -eq 1 ] || { echo "fuzz.sh: $CLASS has several fuzz tests, name one: $(echo $METHODS)" >&2; exit 2; }
  TARGET="$CLASS#$METHODS"
fi

LOG="target/fuzz/${TARGET/\#/-}.log"
mkdir -p target/fuzz
[ -n "${FUZZ_NO_BUILD:-}" ] || mvn -B -q test-compile -pl "$MODULE" -am

# surefire:test runs against the classes built above without compiling again, so two runs can share a tree (each
# with a surefire directory of its own: two runs in one module otherwise delete each other's boot files).
# jazzer.internal.arg.N are libFuzzer's arguments (0 is its argv[0]): an input that runs for 60 s is a finding
# (libFuzzer's default is 20 minutes), saved as timeout-<sha1> beside the crashes.
# The surefire run fails when Jazzer finds a crash; the summary below says so.
set +e
JAZZER_FUZZ=1 mvn -B -pl "$MODULE" -am surefire:test -Dtest="$TARGET" -Dsurefire.failIfNoSpecifiedTests=false -DtempDir="surefire-$CLASS" \
  -Djazzer.max_duration="${MINUTES}m" -Djazzer.internal.arg.0=fuzz -Djazzer.internal.arg.1=-timeout=60 >"$LOG" 2>&1
STATUS=$?
set -e

DONE="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$LOG" | tail -1)"
RUNS="$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' "$LOG" | tail -1)"
CRASH="$(grep -E 'FuzzerSecurityIssue|== Java Exception|crash-[0-9a-f]{40}' "$LOG" | head -3 || true)"
echo "$TARGET: ${MINUTES} min; ${RUNS:-no runs}; ${DONE:-no final stats}; maven exit $STATUS${CRASH:+; CRASH: $CRASH}"
exit "$STATUS"
