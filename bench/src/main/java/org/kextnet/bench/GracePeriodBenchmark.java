package org.kextnet.bench;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

import org.kextnet.kernel.sync.GracePeriod;
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
 * The grace period alone, without packets: one reader thread runs read-side sections of {@code sectionMicros}
 * (busy, as a reader thread working through a batch), back to back or with {@code gapMicros} parked between
 * them, while the benchmark thread waits for grace periods. {@code synchronize} times the writer's wait;
 * {@code deferToReclaim} the path a filter removal takes: a deferred reclaim, the reclaim thread's wake-up,
 * its grace period, and the waiting thread's wake-up by the callback (spin 20 us, then park). Uses one core for
 * the reader while its sections are back to back.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
public class GracePeriodBenchmark {
    /** How long each section lasts: 64 packets at ~200 ns is ~13 us. */
    @Param({"10"})
    long sectionMicros;

    /** The reader parks this long between sections (0: back to back, a saturated reader). */
    @Param({"0", "50"})
    long gapMicros;

    GracePeriod gp;
    Thread reader;
    volatile boolean stop;
    /** Sections the reader ran, and nanoseconds it spent inside them (written by the reader only). */
    volatile long sections, insideNanos;
    long iterationSections, iterationInside, iterationStart;

    @Setup(Level.Trial) public void setUp() {
        gp = new GracePeriod("bench");
        long section = sectionMicros * 1000, gap = gapMicros * 1000;
        reader = Thread.ofPlatform().name("reader").start(() -> {
            int stripe = GracePeriod.stripeFor(Thread.currentThread());
            long n = 0, inside = 0;
            while (!stop) {
                int t = gp.enter(stripe);
                long start = System.nanoTime(), end = start + section;
                while (System.nanoTime() - end < 0) Thread.onSpinWait();
                gp.exit(t);
                inside += System.nanoTime() - start;
                sections = ++n;
                insideNanos = inside;
                if (gap > 0) LockSupport.parkNanos(gap);
            }
        });
    }

    @Setup(Level.Iteration) public void startIteration() {
        iterationStart = System.nanoTime();
        iterationSections = sections;
        iterationInside = insideNanos;
    }

    /**
     * Prints what the reader did: on a loaded machine it may have run far fewer sections than planned (it waits
     * for a core like everyone), and a grace period is short when the reader is descheduled between sections.
     */
    @TearDown(Level.Iteration) public void reportReader() {
        long wall = System.nanoTime() - iterationStart;
        System.out.printf("  [reader: %,d sections, inside one %.0f %% of the time; load average %s]%n",
                sections - iterationSections, 100.0 * (insideNanos - iterationInside) / wall, FilterChangeBenchmark.loadAverage());
    }

    @TearDown(Level.Trial) public void tearDown() throws InterruptedException {
        stop = true;
        reader.join();
        gp.close();
    }

    @Benchmark public void synchronize() {
        gp.synchronize();
    }

    @Benchmark public void deferToReclaim() {
        Thread me = Thread.currentThread();
        AtomicBoolean done = new AtomicBoolean();
        gp.defer(() -> {
            done.set(true);
            LockSupport.unpark(me);
        });
        long start = System.nanoTime();
        while (!done.get()) {
            if (System.nanoTime() - start < 20_000) Thread.onSpinWait();
            else LockSupport.parkNanos(1_000_000);
        }
    }
}
