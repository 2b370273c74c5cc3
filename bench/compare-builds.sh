#!/bin/sh
# Compares the forwarding cost of builds in one JVM (org.kextnet.bench.ForwardingComparison): the only kind of
# comparison that holds on a machine whose speed drifts. Each argument is a git revision, or "." for the working
# tree as it is; each is built into its own benchmarks jar (in a temporary worktree), then all run in turns.
#   bench/compare-builds.sh HEAD~1 .                      # the last commit against the working tree
#   FILTERS=4 ROUNDS=60 bench/compare-builds.sh main .    # with 4 no-op IP filters, 60 rounds of 100 ms each
# MAVEN_REPO_LOCAL as for run-jmh.sh. Temporary worktrees and jars are removed at the end.
set -e
cd "$(dirname "$0")/.."
if [ -z "$JAVA_HOME" ] || ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -q '"25'; then
  JAVA_HOME=$(ls -d /usr/lib/jvm/temurin-25* 2>/dev/null | head -1)
fi
export JAVA_HOME
[ $# -ge 1 ] || { echo "usage: $0 REV|. [REV|.]..." >&2; exit 2; }
WORK=$(mktemp -d)
ROOT=$(pwd)
cleanup() {
  for w in "$WORK"/tree-*; do [ -d "$w" ] && git -C "$ROOT" worktree remove --force "$w"; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
build() { # $1 = source tree, $2 = jar to write
  mvn -q -B ${MAVEN_REPO_LOCAL:+-Dmaven.repo.local=$MAVEN_REPO_LOCAL} -f "$1/pom.xml" -pl bench -am package -DskipTests
  cp "$1/bench/target/benchmarks.jar" "$2"
}
# The comparison itself runs from the working tree's build.
case " $* " in *" . "*) ;; *) build "$ROOT" "$WORK/tool.jar" ;; esac
SPECS=""
for rev in "$@"; do
  if [ "$rev" = "." ]; then
    name=worktree
    build "$ROOT" "$WORK/$name.jar"
  else
    name=$(git rev-parse --short "$rev")
    git worktree add -q --detach "$WORK/tree-$name" "$rev"
    build "$WORK/tree-$name" "$WORK/$name.jar"
  fi
  SPECS="$SPECS $WORK/$name.jar:${FILTERS:-0}"
done
# The kernel's launcher flags (see ./kextnet and InMemoryForwardingBenchmark); runInput/runOutput for builds
# from before the walks were split out.
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
  -Dkextnet.unchecked=true -XX:MaxInlineLevel=30 -XX:CompileCommand=quiet \
  '-XX:CompileCommand=inline,org.kextnet.kernel.inet.IpFilters::walk*' \
  '-XX:CompileCommand=inline,org.kextnet.kernel.inet.IpFilters::run*' \
  -cp "$ROOT/bench/target/benchmarks.jar" org.kextnet.bench.ForwardingComparison "${ROUNDS:-40}" $SPECS
