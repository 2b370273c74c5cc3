package org.kextnet.kernel.nke;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.embed.FilterChurn;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.kernel.embed.MarkingFilter;
import org.kextnet.kernel.embed.SequencedStream;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.wire.Udp;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.ipfilter.IpFilterRef;

/**
 * Attach, detach and replace under traffic: a sequence-numbered UDP stream runs through a kernel with real
 * reader threads while another thread replaces or removes and re-adds an IP filter over and over. No packet
 * may be lost, duplicated or reordered; each packet must pass exactly one instance of a replaced filter;
 * every removed filter gets {@code detached} exactly once, after its last call returned, and is never called
 * after it. Rates are measured and printed, not asserted (the paced 1 Mpps run with figures is the bench
 * module's {@code FilterStreamCheck}).
 */
class DetachUnderTrafficTest {
    private static final int PACKETS = Integer.getInteger("kextnet.stress.packets", 1_000_000);
    /** The replace test keeps the stream going until at least this many replaces happened (issue 4: 10,000). */
    private static final int MIN_REPLACES = Integer.getInteger("kextnet.stress.replaces", 10_000);
    /** A bound on the stream, so a starved replacer cannot make the test run forever. */
    private static final int MAX_PACKETS = 50_000_000;
    private static final int PAYLOAD = SequencedStream.FRAME_PAYLOAD;

    /** How many packets the last {@link #produce} sent. */
    private static volatile int lastProduced;

    /** Packets in flight at most: less than any ring, so a slow sink never makes the kernel drop. */
    private static final int WINDOW = 2048;

    /**
     * Produces the stream on this thread, at most {@link #WINDOW} packets ahead of the sink, and retries when
     * the ring is full, so nothing is dropped at the source or for lack of room further on. Goes on after
     * {@code count} packets until {@code enough} says so (bounded by MAX_PACKETS).
     */
    private static long produce(KernelHarness k, String link, byte[] frame, int count,
                                java.util.function.LongSupplier sunk, java.util.function.BooleanSupplier enough) {
        MemoryWire.End end = k.link(link).wire().a();
        long start = System.nanoTime();
        for (int seq = 0; seq < count || (seq < MAX_PACKETS && !enough.getAsBoolean()); seq++) {
            lastProduced = seq + 1;
            while (seq - sunk.getAsLong() >= WINDOW) Thread.onSpinWait();
            Packet m;
            while ((m = k.kernel().buffers().alloc()) == null) Thread.onSpinWait();
            SequencedStream.fill(m, frame, PAYLOAD, seq);
            while (!end.offer(m)) Thread.onSpinWait();
        }
        return System.nanoTime() - start;
    }

    private static void await(java.util.function.BooleanSupplier done, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!done.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(5);
        }
    }

    /** Replaces an IP input filter continuously while the stream is delivered to a local socket. */
    @Test void replaceInputFilterUnderStream() throws Exception {
        AtomicLong violations = new AtomicLong();
        try (KernelHarness k = KernelHarness.builder().ethernet("wire0", "10.0.0.1/24").threaded(true).buffers(16384, 8).build()) {
            ExtensionHandle kpi = k.kpi("stress");
            SequencedStream.Checker sink = new SequencedStream.Checker(1);
            AtomicLong delivered = new AtomicLong();
            UdpSocket so = k.kernel().udp().open();
            so.setUpcall((ctx, s, m, hl) -> {
                sink.accept(m, hl + Udp.HEADER_LEN);
                delivered.incrementAndGet();
                m.free();
            });
            so.bind(0, 5000);
            MarkingFilter first = new MarkingFilter(SequencedStream.IP_MARK, violations);
            IpFilterRef ref = kpi.ipFilters().addV4("mark", Position.DEFAULT, first);
            FilterChurn replacer = FilterChurn.replacing(ref, first, SequencedStream.IP_MARK, violations);
            Thread rt = Thread.ofPlatform().name("replacer").start(replacer);
            byte[] frame = SequencedStream.localFrame(k, "wire0");
            long nanos;
            int sent;
            try {
                nanos = produce(k, "wire0", frame, PACKETS, delivered::get, () -> replacer.changes() >= MIN_REPLACES);
                sent = lastProduced;
                await(() -> delivered.get() == sent, "delivery of " + sent + " packets (got " + delivered.get() + ", "
                        + k.kernel().stats().format(false) + ")");
            } finally {
                replacer.stopAndFinish(rt);
            }
            k.awaitDetached();
            report("IP input filter replace", sent, nanos, replacer, sink);
            assertThat(sink.clean(sent)).as(sink.describe(sent)).isTrue();
            assertThat(replacer.changes()).isGreaterThanOrEqualTo(MIN_REPLACES);
            for (MarkingFilter f : replacer.filters()) assertThat(f.detachedCalls()).isEqualTo(1);
            assertThat(violations.get()).as("calls after detached, or detached during a call").isZero();
            assertThat(k.stat(Stat.IP_FILTERED) + k.stat(Stat.NKE_FAULT_DROPS)).isZero();
            so.close();
        }
    }

    /** Removes and re-adds an IP output filter continuously while the stream is forwarded between two wires. */
    @Test void detachAndReattachOutputFilterWhileForwarding() throws Exception {
        AtomicLong violations = new AtomicLong();
        try (KernelHarness k = KernelHarness.builder().ethernet("wire0", "10.0.0.1/24").ethernet("wire1", "10.1.0.1/24")
                .forwarding(true).threaded(true).buffers(16384, 8).build()) {
            ExtensionHandle kpi = k.kpi("stress");
            FilterChurn reattacher = FilterChurn.reattaching(kpi.ipFilters(), "mark", SequencedStream.IP_MARK, violations);
            SequencedStream.Checker sink = new SequencedStream.Checker(0, 1);
            AtomicLong received = new AtomicLong();
            MemoryWire.End far = k.link("wire1").wire().b();
            Thread consumer = Thread.ofPlatform().name("consumer").start(() -> {
                while (received.get() < PACKETS && !Thread.currentThread().isInterrupted()) {
                    Packet m = far.take();
                    if (m == null) {
                        Thread.onSpinWait();
                        continue;
                    }
                    sink.accept(m, PAYLOAD);
                    m.free();
                    received.incrementAndGet();
                }
            });
            Thread rt = Thread.ofPlatform().name("reattacher").start(reattacher);
            byte[] frame = SequencedStream.forwardedFrame(k, "wire0", "wire1");
            long nanos;
            try {
                nanos = produce(k, "wire0", frame, PACKETS, received::get, () -> true);
                await(() -> received.get() == PACKETS, "forwarding of " + PACKETS + " packets (got " + received.get() + ", "
                        + k.kernel().stats().format(false) + ")");
            } finally {
                reattacher.stopAndFinish(rt);
                consumer.interrupt();
                consumer.join();
            }
            kpi.removeAll();
            k.awaitDetached();
            report("IP output filter detach/attach (forwarding)", PACKETS, nanos, reattacher, sink);
            assertThat(sink.clean(PACKETS)).as(sink.describe(PACKETS)).isTrue();
            for (MarkingFilter f : reattacher.filters()) assertThat(f.detachedCalls()).isEqualTo(1);
            assertThat(violations.get()).isZero();
        }
    }

    private static void report(String what, int packets, long produceNanos, FilterChurn churn, SequencedStream.Checker sink) {
        System.out.printf("%s: %,d packets in %.3f s = %.2f Mpps offered; %s; %s%n", what, packets, produceNanos / 1e9,
                packets / (produceNanos / 1e3), churn.describe(), sink.describe(packets));
    }
}
