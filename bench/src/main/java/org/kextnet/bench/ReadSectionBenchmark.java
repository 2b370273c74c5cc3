package org.kextnet.bench;

import java.util.concurrent.TimeUnit;

import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.kernel.net.PacketContext;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What a read-side section costs one thread, to weigh entering once per packet against once per batch of up
 * to 64 (what a reader thread does, {@code Interface.input}): {@code outermost} is a section entered and left
 * at depth 0 (the shared counter's increment and decrement: what every packet would pay with per-packet
 * sections), {@code nested} one inside an open section (what each filter head pays today).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
public class ReadSectionBenchmark {
    KernelHarness k;
    PacketContext outer, inner;

    @Setup(Level.Trial) public void setUp() {
        k = KernelHarness.create();
        outer = k.kernel().contexts().open();
        inner = k.kernel().contexts().open();
        inner.enter();
    }

    @TearDown(Level.Trial) public void tearDown() {
        inner.exit();
        k.close();
    }

    @Benchmark public void outermost() {
        outer.enter();
        outer.exit();
    }

    @Benchmark public void nested() {
        inner.enter();
        inner.exit();
    }
}
