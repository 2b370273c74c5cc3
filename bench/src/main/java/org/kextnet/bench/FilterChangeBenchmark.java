package org.kextnet.bench;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.kextnet.kernel.buf.Mbuf;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.ipfilter.IpFilter;
import org.kextnet.kpi.ipfilter.IpFilterRef;
import org.kextnet.kpi.ipfilter.IpPacketOptions;
import org.kextnet.testkit.EmbeddedKernel;
import org.kextnet.testkit.Frames;
import org.openjdk.jmh.annotations.AuxCounters;
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
 * Latency of filter changes under load: while a producer thread forwards packets through a kernel with real
 * reader threads, the benchmark thread attaches, replaces or removes an IP output filter and waits for the old
 * filter's {@code detached} callback (for replace and remove: the full grace period). Sample mode gives the
 * percentiles; the forwarded packet rate during the run is reported as an auxiliary counter.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
public class FilterChangeBenchmark {
    /** Marks its detached callback. */
    static final class Noop implements IpFilter {
        volatile boolean detached;

        @Override public int output(org.kextnet.kpi.mbuf.Mbuf m, IpPacketOptions o) { return 0; }
        @Override public void detached() { detached = true; }
    }

    EmbeddedKernel k;
    ExtensionHandle kpi;
    IpFilterRef ref;
    Noop current;
    Thread producer, consumer;
    final AtomicBoolean stop = new AtomicBoolean();
    final AtomicLong forwarded = new AtomicLong();

    @Setup(Level.Trial) public void setUp() throws KpiException {
        k = EmbeddedKernel.builder().ethernet("wire0", "10.0.0.1/24").ethernet("wire1", "10.1.0.1/24")
                .forwarding(true).threaded(true).buffers(16384, 4).build();
        kpi = k.kpi("bench");
        current = new Noop();
        ref = kpi.ipFilters().addV4("changing", Position.DEFAULT, current);
        byte[] ip = Frames.udpPacket(k.link("wire0").peerIp(), k.link("wire1").peerIp(), 1, 2, new byte[18]);
        byte[] frame = Frames.ethernet(k.link("wire0").kernelMac(), k.link("wire0").peerMac(), Frames.ETHERTYPE_IPV4, ip);
        MemoryWire.End in = k.link("wire0").wire().a();
        MemoryWire.End out = k.link("wire1").wire().b();
        producer = Thread.ofPlatform().name("producer").start(() -> {
            while (!stop.get()) {
                Mbuf m = k.kernel().buffers().alloc();
                if (m == null) { Thread.onSpinWait(); continue; }
                m.setLength(frame.length);
                m.copyFrom(0, frame, 0, frame.length);
                while (!in.offer(m)) {
                    if (stop.get()) { m.free(); return; }
                    Thread.onSpinWait();
                }
            }
        });
        consumer = Thread.ofPlatform().name("consumer").start(() -> {
            while (!stop.get()) {
                Mbuf m = out.take();
                if (m == null) { Thread.onSpinWait(); continue; }
                m.free();
                forwarded.incrementAndGet();
            }
        });
    }

    @TearDown(Level.Trial) public void tearDown() throws InterruptedException {
        stop.set(true);
        producer.join();
        consumer.join();
        k.close();
    }

    /** Packets forwarded during the iteration, per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Rate {
        public long forwardedPackets;
    }

    /** Spins for 20 us, then parks: a waiting loader must not take a core from the packet threads. */
    private static void awaitDetached(Noop f) {
        long start = System.nanoTime();
        while (!f.detached) {
            if (System.nanoTime() - start < 20_000) Thread.onSpinWait();
            else java.util.concurrent.locks.LockSupport.parkNanos(10_000);
        }
    }

    /** One replace (one publish), until the old filter's detached callback ran. */
    @Benchmark public void replaceToDetached(Rate rate) throws KpiException {
        long before = forwarded.get();
        Noop old = current;
        current = new Noop();
        ref = ref.replace(current);
        awaitDetached(old);
        rate.forwardedPackets += forwarded.get() - before;
    }

    /** Remove then attach again; the time includes the removed filter's detached callback. */
    @Benchmark public void detachToDetachedThenAttach(Rate rate) throws KpiException {
        long before = forwarded.get();
        Noop old = current;
        ref.remove();
        awaitDetached(old);
        current = new Noop();
        ref = kpi.ipFilters().addV4("changing", Position.DEFAULT, current);
        rate.forwardedPackets += forwarded.get() - before;
    }
}
