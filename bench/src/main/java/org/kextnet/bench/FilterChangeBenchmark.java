package org.kextnet.bench;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.embed.FilterChurn;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.kernel.embed.MarkingFilter;
import org.kextnet.kernel.embed.PacedSource;
import org.kextnet.kernel.embed.SequencedStream;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.ipfilter.IpFilterKpi;
import org.kextnet.kpi.ipfilter.IpFilterRef;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Latency of filter changes under load: packets are forwarded from wire0 to wire1 through a kernel with real
 * reader threads while the benchmark thread attaches, replaces or removes an IP output filter. Three
 * operations, each timed alone (sample mode gives the percentiles):
 * <ul>
 * <li>{@code attach}: adding the filter (one publish); its removal is an untimed per-invocation teardown;
 * <li>{@code replaceToDetached}: replacing the filter, until the old one's {@code detached} ran (one publish
 *     and a full grace period on the reclaim thread);
 * <li>{@code detachToDetached}: removing the filter, until its {@code detached} ran; attaching the next one
 *     is an untimed per-invocation setup.
 * </ul>
 * The caller waits for {@code detached} as a loader would: it spins for {@value FilterChurn#SPIN_NANOS} ns,
 * then parks until the callback wakes it, so a wait longer than that includes one thread wake-up.
 *
 * <p>Two loads ({@code load}):
 * <ul>
 * <li>{@code paced}: one "NIC" thread ({@link PacedSource}) offers {@code offeredPps} packets per second in
 *     bursts and parks when it is ahead, as a NIC does not spin; every thread gets a core when it needs one;
 * <li>{@code saturated}: a producer and a consumer thread spin as fast as they can. With the kernel's reader,
 *     the benchmark thread and the reclaim thread that is five threads wanting the 2 cores of a small machine:
 *     a reader preempted inside its batch holds the grace period until the scheduler runs it again, so the
 *     tail measures the scheduler under oversubscription as much as the kernel.
 * </ul>
 * The forwarded rate is printed after every iteration, with a warning when it was under 1 Mpps; the auxiliary
 * counter {@code forwardedPackets} sums the packets forwarded during the measurement.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
public class FilterChangeBenchmark {
    /** The rate the goal asks for while filters change. */
    static final double GOAL_MPPS = 1.0;
    static final String NAME = "changing";

    /** The kernel, its load, and the forwarded rate. */
    @State(Scope.Thread)
    public static class Rig {
        @Param({"paced", "saturated"})
        String load;

        /** The paced source's offered rate, packets per second (above the goal, so that the forwarded rate can meet it). */
        @Param({"1200000"})
        long offeredPps;

        KernelHarness k;
        IpFilterKpi kpi;
        final AtomicLong violations = new AtomicLong();
        PacedSource source;
        Thread producer, consumer;
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicLong saturatedForwarded = new AtomicLong();
        long lastForwarded, iterationStartForwarded, iterationStartNanos, iterationStartRefused, iterationStartMissed;

        @Setup(Level.Trial) public void setUp() {
            k = KernelHarness.builder().ethernet("wire0", "10.0.0.1/24").ethernet("wire1", "10.1.0.1/24")
                    .forwarding(true).threaded(true).buffers(16384, 4).ringSize(FilterStreamCheck.RING).build();
            kpi = k.kpi("bench").ipFilters();
            byte[] frame = SequencedStream.forwardedFrame(k, "wire0", "wire1");
            switch (load) {
                case "paced" -> source = new PacedSource(k, "wire0", "wire1", frame, SequencedStream.FRAME_PAYLOAD, offeredPps,
                        20_000, null);
                case "saturated" -> startSaturated(frame);
                default -> throw new IllegalArgumentException("load " + load);
            }
        }

        private void startSaturated(byte[] frame) {
            MemoryWire.End in = k.link("wire0").wire().a();
            MemoryWire.End out = k.link("wire1").wire().b();
            producer = Thread.ofPlatform().name("producer").start(() -> {
                while (!stop.get()) {
                    Packet m = k.kernel().buffers().alloc();
                    if (m == null) { Thread.onSpinWait(); continue; }
                    SequencedStream.fill(m, frame, SequencedStream.FRAME_PAYLOAD, 0);
                    while (!in.offer(m)) {
                        if (stop.get()) { m.free(); return; }
                        Thread.onSpinWait();
                    }
                }
            });
            consumer = Thread.ofPlatform().name("consumer").start(() -> {
                while (!stop.get()) {
                    Packet m = out.take();
                    if (m == null) { Thread.onSpinWait(); continue; }
                    m.free();
                    saturatedForwarded.incrementAndGet();
                }
            });
        }

        @TearDown(Level.Trial) public void tearDown() throws InterruptedException {
            if (source != null) source.close();
            stop.set(true);
            if (producer != null) producer.join();
            if (consumer != null) consumer.join();
            k.close();
            if (violations.get() != 0) throw new IllegalStateException(violations.get() + " grace period violations");
        }

        long forwarded() { return source != null ? source.received() : saturatedForwarded.get(); }

        @Setup(Level.Iteration) public void startIteration() {
            iterationStartNanos = System.nanoTime();
            iterationStartForwarded = forwarded();
            lastForwarded = iterationStartForwarded;
            iterationStartRefused = source != null ? source.refused() : 0;
            iterationStartMissed = source != null ? source.missed() : 0;
        }

        /** Prints the iteration's forwarded rate, and says so when it missed the goal. */
        @TearDown(Level.Iteration) public void checkRate() {
            double mpps = (forwarded() - iterationStartForwarded) / ((System.nanoTime() - iterationStartNanos) / 1e3);
            long refused = source != null ? source.refused() - iterationStartRefused : 0;
            long missed = source != null ? source.missed() - iterationStartMissed : 0;
            System.out.printf("  [%s load: forwarded %.2f Mpps%s%s%s; load average %s]%n", load, mpps,
                    source != null ? String.format(" of %.2f offered", offeredPps / 1e6) : "",
                    refused > 0 ? ", " + refused + " refused by the kernel's ring or pool" : "",
                    missed > 0 ? ", " + missed + " missed by the source (its thread descheduled > 1 ms)" : "", loadAverage());
            if (mpps < GOAL_MPPS) System.out.printf("  WARNING: forwarded rate %.2f Mpps is below the %.1f Mpps the goal asks for%n", mpps, GOAL_MPPS);
        }

        void count(Rate rate) {
            long now = forwarded();
            rate.forwardedPackets += now - lastForwarded;
            lastForwarded = now;
        }

        MarkingFilter newFilter() { return new MarkingFilter(SequencedStream.IP_MARK, violations); }
    }

    static String loadAverage() {
        try {
            String[] f = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (java.io.IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /**
     * Packets forwarded during the iteration's operations (a sum over the measurement iterations: divide by
     * their total time for the rate, which each iteration also prints).
     */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Rate {
        public long forwardedPackets;

        @Setup(Level.Iteration) public void reset() { forwardedPackets = 0; }
    }

    static void awaitDetached(MarkingFilter f) { f.awaitDetached(FilterChurn.SPIN_NANOS, () -> false); }

    /**
     * The filter the benchmark changes, its reference, and the rig. (The benchmark methods reach the rig only
     * through here: JMH 1.37 makes a second thread-scoped instance of a state that is both a benchmark argument
     * and another state's dependency, which would mean two kernels and two sources.)
     */
    public abstract static class Slot {
        Rig rig;
        IpFilterRef ref;
        MarkingFilter current;

        IpFilterRef attach() throws KpiException {
            current = rig.newFilter();
            ref = rig.kpi.addV4(NAME, Position.DEFAULT, current);
            return ref;
        }
    }

    /** For replace: a filter attached for the whole trial. */
    @State(Scope.Thread)
    public static class Replacing extends Slot {
        @Setup(Level.Trial) public void setUp(Rig r) throws KpiException {
            rig = r;
            attach();
        }
    }

    /** For attach: after each invocation, removes the filter and waits for its detached (untimed). */
    @State(Scope.Thread)
    public static class Attaching extends Slot {
        @Setup(Level.Trial) public void setUp(Rig r) { rig = r; }

        @TearDown(Level.Invocation) public void remove() {
            ref.remove();
            awaitDetached(current);
        }
    }

    /** For detach: before each invocation, attaches a filter (untimed). */
    @State(Scope.Thread)
    public static class Detaching extends Slot {
        @Setup(Level.Trial) public void setUp(Rig r) { rig = r; }

        @Setup(Level.Invocation) public void attachNext() throws KpiException { attach(); }
    }

    /** Attaching a filter: one publish. */
    @Benchmark public IpFilterRef attach(Attaching s, Rate rate) throws KpiException {
        IpFilterRef ref = s.attach();
        s.rig.count(rate);
        return ref;
    }

    /** One replace (one publish), until the old filter's detached callback ran. */
    @Benchmark public void replaceToDetached(Replacing s, Rate rate) throws KpiException {
        MarkingFilter old = s.current;
        s.current = s.rig.newFilter();
        s.ref = s.ref.replace(s.current);
        awaitDetached(old);
        s.rig.count(rate);
    }

    /** One remove, until the filter's detached callback ran. */
    @Benchmark public void detachToDetached(Detaching s, Rate rate) {
        s.ref.remove();
        awaitDetached(s.current);
        s.rig.count(rate);
    }
}
