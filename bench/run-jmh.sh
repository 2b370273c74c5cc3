#!/bin/sh
# Builds the bench module and runs JMH with the given arguments (default: every kextnet benchmark).
#   bench/run-jmh.sh InMemoryForwardingBenchmark -prof gc
# The load average is printed first: on a shared machine it says how much the figures are worth.
set -e
cd "$(dirname "$0")/.."
if [ -z "$JAVA_HOME" ] || ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -q '"25'; then
  JAVA_HOME=$(ls -d /usr/lib/jvm/temurin-25* 2>/dev/null | head -1)
fi
export JAVA_HOME
mvn -q -B -pl bench -am package -DskipTests
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
  -cp "bench/target/classes:$(cat bench/target/classpath.txt)" org.openjdk.jmh.Main "${@:-org.kextnet.bench}"
