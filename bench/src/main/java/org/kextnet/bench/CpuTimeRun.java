package org.kextnet.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.function.IntSupplier;

/**
 * The forwarding benchmark's three workloads timed in thread CPU time instead of wall time, for a shared
 * machine: time the thread spends descheduled does not count, so the figure moves far less with other
 * people's load than JMH's wall-clock score (it still pays for caches they evict). Not a replacement for
 * JMH, which stays the reference (and the only allocation figure); a second opinion reported beside it.
 *
 * <pre>java -XX:MaxInlineLevel=30 -XX:CompileCommand=quiet -XX:CompileCommand=inline,org.kextnet.kernel.inet.IpFilters::walk* \
 *      -cp bench/target/benchmarks.jar org.kextnet.bench.CpuTimeRun [rounds] [millis per round] [layers|filters|firewall]</pre>
 * (the flags as in the launcher and the JMH forks; see {@link InMemoryForwardingBenchmark}).
 */
public final class CpuTimeRun {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        long millis = args.length > 1 ? Long.parseLong(args[1]) : 500;
        InMemoryForwardingBenchmark b = new InMemoryForwardingBenchmark();

        InMemoryForwardingBenchmark.Router router = new InMemoryForwardingBenchmark.Router();
        router.setUp();
        report("forward", run(() -> b.forward(router), rounds, millis));
        report("driversOnly", run(() -> b.driversOnly(router), rounds, millis));
        router.check();

        InMemoryForwardingBenchmark.Frames frames = new InMemoryForwardingBenchmark.Frames();
        frames.setUp();
        report("ipv4Reference", run(() -> b.ipv4Reference(frames), rounds, millis));
        report("ipv4RefHeap", run(() -> b.ipv4ReferenceHeap(frames), rounds, millis));
        frames.tearDown();

        if (args.length > 2 && args[2].equals("layers")) layers(b, rounds, millis);
        if (args.length > 2 && args[2].equals("filters")) filters(b, rounds, millis);
        if (args.length > 2 && args[2].equals("firewall")) firewall(rounds, millis);
    }

    /**
     * Forwarding without the firewall sample and with it holding 0, 10 and 1,000 rules ({@link FirewallBenchmark}),
     * each in a kernel of its own, one round of each in turn: a slow spell of the machine falls on all four alike.
     */
    private static void firewall(int rounds, long millis) {
        String[] sets = {"none", "0", "10", "1000"};
        FirewallBenchmark b = new FirewallBenchmark();
        FirewallBenchmark.Path[] paths = new FirewallBenchmark.Path[sets.length];
        double[][] ns = new double[sets.length][rounds];
        try {
            for (int i = 0; i < sets.length; i++) {
                paths[i] = new FirewallBenchmark.Path();
                paths[i].rules = sets[i];
                paths[i].setUp();
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        for (int r = -rounds; r < rounds; r++) {
            for (int i = 0; i < sets.length; i++) {
                FirewallBenchmark.Path p = paths[i];
                double v = round(() -> b.forward(p), millis);
                if (r >= 0) ns[i][r] = v; // the first rounds warm up
            }
        }
        for (int i = 0; i < sets.length; i++) {
            report("rules=" + sets[i], ns[i]);
            paths[i].check();
        }
    }

    /** Forwarding with 0, 1, 4 and 16 no-op IP output filters (issue 4), each in a kernel of its own. */
    private static void filters(InMemoryForwardingBenchmark b, int rounds, long millis) {
        for (int n : new int[] {0, 1, 4, 16}) {
            InMemoryForwardingBenchmark.Router r = new InMemoryForwardingBenchmark.Router();
            r.ipFilters = n;
            r.setUp();
            report("filters=" + n, run(() -> b.forward(r), rounds, millis));
            r.check();
        }
    }

    /**
     * Where the stack's time goes: the same input dropped at successive layers (a frame for another MAC
     * stops in Ethernet input; with forwarding off a packet stops after all of IPv4 input), timed like
     * {@code forward}. Differences between lines are the cost of the layers between the drops. Both drops
     * leave the vector path (docs/architecture.md) for the one-packet path, so they describe that path; to
     * compare versions of the vector path, use {@link ForwardingComparison}.
     */
    private static void layers(InMemoryForwardingBenchmark b, int rounds, long millis) {
        InMemoryForwardingBenchmark.Router pool = new InMemoryForwardingBenchmark.Router();
        pool.setUp();
        report("sharedPool", run(() -> {
            for (int i = 0; i < InMemoryForwardingBenchmark.BATCH; i++) pool.batch[i] = pool.pool.alloc();
            for (int i = 0; i < InMemoryForwardingBenchmark.BATCH; i++) pool.batch[i].free();
            return 0;
        }, rounds, millis));
        report("poolOnly", run(() -> {
            for (int i = 0; i < InMemoryForwardingBenchmark.BATCH; i++) pool.batch[i] = pool.ctx.alloc();
            for (int i = 0; i < InMemoryForwardingBenchmark.BATCH; i++) pool.ctx.free(pool.batch[i]);
            return 0;
        }, rounds, millis));
        report("fillOnly", run(() -> {
            pool.fill();
            for (int i = 0; i < InMemoryForwardingBenchmark.BATCH; i++) pool.ctx.free(pool.batch[i]);
            return 0;
        }, rounds, millis));
        InMemoryForwardingBenchmark.Router link = new InMemoryForwardingBenchmark.Router();
        link.setUp();
        link.template.set(InMemoryForwardingBenchmark.U8, 5, (byte) 0x77); // destination MAC: not em0's
        report("dropInEthernet", run(() -> b.forward(link), rounds, millis));
        InMemoryForwardingBenchmark.Router ip = new InMemoryForwardingBenchmark.Router();
        ip.setUp();
        ip.kernel.setForwarding(false);
        report("dropInIpv4", run(() -> b.forward(ip), rounds, millis));
    }

    /** CPU nanoseconds per packet of each round, after a warm-up of as many rounds. */
    private static double[] run(IntSupplier batch, int rounds, long millis) {
        double[] perPacket = new double[rounds];
        for (int r = -rounds; r < rounds; r++) {
            double ns = round(batch, millis);
            if (r >= 0) perPacket[r] = ns;
        }
        return perPacket;
    }

    /** CPU nanoseconds per packet of batches run for {@code millis} of wall time. */
    private static double round(IntSupplier batch, long millis) {
        long packets = 0, sink = 0;
        long wallEnd = System.nanoTime() + millis * 1_000_000;
        long cpu0 = THREADS.getCurrentThreadCpuTime();
        while (System.nanoTime() - wallEnd < 0) {
            for (int i = 0; i < 100; i++) sink += batch.getAsInt();
            packets += 100L * InMemoryForwardingBenchmark.BATCH;
        }
        long cpu = THREADS.getCurrentThreadCpuTime() - cpu0;
        if (sink == 42) System.out.print(""); // keep the results alive
        return (double) cpu / packets;
    }

    private static void report(String name, double[] ns) {
        double[] s = ns.clone();
        Arrays.sort(s);
        double median = s[s.length / 2];
        System.out.printf("%-14s CPU ns/packet: min %6.1f  median %6.1f  max %6.1f  -> %5.2f Mpps at the median%n",
                name, s[0], median, s[s.length - 1], 1000 / median);
    }
}
