package org.kextnet.bench;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Compares builds of the forwarding benchmark in one JVM, for a machine whose speed drifts: each build's
 * benchmark jar is loaded by a class loader of its own (its kernel classes compiled apart from the others'),
 * and the builds take turns, 100 ms of thread CPU time each, so that every round of one build has rounds of
 * the others beside it under the same conditions. What holds here is the ratio of each round to the first
 * build's round beside it; the absolute figures move with the host (1.5x from one minute to the next on the
 * shared development VM).
 *
 * <pre>java -XX:MaxInlineLevel=30 -XX:CompileCommand=quiet '-XX:CompileCommand=inline,org.kextnet.kernel.inet.IpFilters::walk*' \
 *      --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
 *      -cp bench/target/benchmarks.jar org.kextnet.bench.ForwardingComparison ROUNDS JAR[:FILTERS] JAR[:FILTERS]...</pre>
 * {@code FILTERS} is the number of no-op IP filters for that run (default 0); one jar may appear several
 * times with different numbers. {@code bench/compare-builds.sh} builds two commits and runs this.
 *
 * <p>It drives each jar's {@link InMemoryForwardingBenchmark} through reflection, so it also runs builds
 * from before it existed.
 */
public final class ForwardingComparison {
    private static final long ROUND_NANOS = 100_000_000L;

    /** One build under test: its router and its {@code forward(Router)} bound to a benchmark instance. */
    private record Build(String label, MethodHandle forward, Object router) {
        int batch() throws Throwable { return (int) forward.invoke(router); }

        /** The router's own check that every packet was forwarded and sent, and that no buffer leaked. */
        void check() throws ReflectiveOperationException { router.getClass().getMethod("check").invoke(router); }
    }

    public static void main(String[] args) throws Throwable {
        if (args.length < 2) {
            System.err.println("usage: ForwardingComparison ROUNDS JAR[:FILTERS] JAR[:FILTERS]...");
            System.exit(2);
        }
        int rounds = Integer.parseInt(args[0]);
        Build[] builds = new Build[args.length - 1];
        for (int i = 0; i < builds.length; i++) builds[i] = load(args[i + 1]);

        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        double[][] ns = new double[builds.length][rounds];
        int batch = InMemoryForwardingBenchmark.BATCH;
        for (int r = -rounds / 2; r < rounds; r++) { // the first half as many rounds warm up
            for (int b = 0; b < builds.length; b++) {
                long cpu0 = threads.getCurrentThreadCpuTime();
                long end = System.nanoTime() + ROUND_NANOS;
                long packets = 0;
                while (System.nanoTime() < end) {
                    for (int j = 0; j < 50; j++) builds[b].batch();
                    packets += 50L * batch;
                }
                if (r >= 0) ns[b][r] = (double) (threads.getCurrentThreadCpuTime() - cpu0) / packets;
            }
        }

        for (Build b : builds) b.check(); // a build that dropped packets did less work: its figures would mislead

        System.out.printf("load average %s; CPU ns per forwarded packet over %d rounds of 100 ms each%n",
                Files.readString(Path.of("/proc/loadavg")).trim(), rounds);
        for (int b = 0; b < builds.length; b++) {
            double[] s = ns[b].clone();
            Arrays.sort(s);
            System.out.printf("%-40s min %6.1f  p25 %6.1f  median %6.1f%n", builds[b].label(), s[0], s[rounds / 4], s[rounds / 2]);
        }
        for (int b = 1; b < builds.length; b++) {
            double[] q = new double[rounds];
            for (int r = 0; r < rounds; r++) q[r] = ns[b][r] / ns[0][r];
            Arrays.sort(q);
            System.out.printf("ratio to %s, round by round: %-40s p25 %.3f  median %.3f  p75 %.3f%n",
                    builds[0].label(), builds[b].label(), q[rounds / 4], q[rounds / 2], q[3 * rounds / 4]);
        }
    }

    private static Build load(String spec) throws Throwable {
        int colon = spec.lastIndexOf(':');
        String jar = colon > 0 ? spec.substring(0, colon) : spec;
        int filters = colon > 0 ? Integer.parseInt(spec.substring(colon + 1)) : 0;
        ClassLoader loader = new URLClassLoader(new URL[] {Path.of(jar).toUri().toURL()}, ClassLoader.getPlatformClassLoader());
        Class<?> benchmark = loader.loadClass(InMemoryForwardingBenchmark.class.getName());
        Class<?> routerClass = loader.loadClass(InMemoryForwardingBenchmark.Router.class.getName());
        Object router = routerClass.getConstructor().newInstance();
        try {
            routerClass.getField("ipFilters").setInt(router, filters);
        } catch (NoSuchFieldException e) {
            if (filters != 0) throw new IllegalArgumentException(jar + " has no ipFilters parameter", e);
        }
        routerClass.getMethod("setUp").invoke(router);
        MethodHandle forward = MethodHandles.publicLookup()
                .findVirtual(benchmark, "forward", MethodType.methodType(int.class, routerClass))
                .bindTo(benchmark.getConstructor().newInstance());
        return new Build(Path.of(jar).getFileName() + (filters != 0 ? " with " + filters + " filters" : ""), forward, router);
    }
}
