package org.kextnet.bench;

import java.lang.management.ManagementFactory;
import java.util.Locale;

/**
 * {@link TcpStackBenchmark}'s flow outside JMH, for looking into it: the same two kernels and memory wire, 1 MiB
 * writes for the given seconds, the rate printed each second, then both kernels' statistics (retransmissions,
 * drops), so that a slow second can be told from a lossy one; and a short run to record with JFR. Each second also
 * gives the process's CPU time (every thread: the writer, both kernels' readers, the drainer, the JIT and GC) and
 * the rate per CPU second, beside the same for a 1 MiB {@code System.arraycopy} on one thread: on a shared machine
 * those two move far less with other people's load than the wall-clock rates.
 *
 * <pre>bench/run-jmh.sh is not needed: MAIN=org.kextnet.bench.TcpStackRun bench/run-jmh.sh [mtu] [seconds]</pre>
 */
public final class TcpStackRun {
    private TcpStackRun() {}

    public static void main(String[] args) throws Exception {
        TcpStackBenchmark b = new TcpStackBenchmark();
        b.mtu = args.length > 0 ? Integer.parseInt(args[0]) : 1500;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        var threads = ManagementFactory.getThreadMXBean();
        b.setUp();
        try {
            for (int s = 0; s < seconds; s++) {
                long t0 = System.nanoTime(), c0 = os.getProcessCpuTime(), end = t0 + 1_000_000_000L;
                long bytes = 0;
                while (System.nanoTime() < end) bytes += b.stackToStack1MiB();
                double el = (System.nanoTime() - t0) / 1e9, cpu = (os.getProcessCpuTime() - c0) / 1e9;
                // the reference: 1 MiB copies on this thread for 100 ms, in this thread's CPU time
                long m0 = threads.getCurrentThreadCpuTime(), mEnd = System.nanoTime() + 100_000_000L, copied = 0;
                while (System.nanoTime() < mEnd) copied += b.memcpy1MiB().length;
                double mCpu = (threads.getCurrentThreadCpuTime() - m0) / 1e9;
                System.out.printf(Locale.ROOT, "second %d: %.3f Gbit/s, CPU %.2f s, %.3f Gbit/s per CPU second;"
                                + " memcpy %.1f Gbit/s per CPU second%n",
                        s + 1, bytes * 8 / el / 1e9, cpu, bytes * 8 / cpu / 1e9, copied * 8 / mCpu / 1e9);
            }
            System.out.println("--- sender (a)\n" + b.a.stats().format(false));
            System.out.println("--- receiver (b)\n" + b.b.stats().format(false));
        } finally {
            b.tearDown();
        }
    }
}
