package org.kextnet.kernel.nke;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.kextnet.kernel.buf.Mbuf;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.ipfilter.IpFilter;
import org.kextnet.kpi.ipfilter.IpFilterRef;
import org.kextnet.kpi.ipfilter.IpPacketOptions;
import org.kextnet.testkit.EmbeddedKernel;
import org.kextnet.testkit.Frames;

/**
 * Attach, detach and replace under traffic: a sequence-numbered UDP stream runs through a kernel with real
 * reader threads while another thread replaces or removes and re-adds an IP filter over and over. No packet
 * may be lost, duplicated or reordered; each packet must pass exactly one instance of a replaced filter;
 * every removed filter gets {@code detached} exactly once, after its last call returned, and is never called
 * after it. Rates are measured and printed, not asserted.
 */
class DetachUnderTrafficTest {
    private static final int PACKETS = Integer.getInteger("kextnet.stress.packets", 1_000_000);
    /** The replace test keeps the stream going until at least this many replaces happened (issue 4: 10,000). */
    private static final int MIN_REPLACES = Integer.getInteger("kextnet.stress.replaces", 10_000);
    /** A bound on the stream, so a starved replacer cannot make the test run forever. */
    private static final int MAX_PACKETS = 50_000_000;
    private static final int SEQ = 0, MARK = 8;   // offsets in the UDP payload

    /** A filter that counts calls in flight and marks each packet it passes. */
    static final class MarkingFilter implements IpFilter {
        static final AtomicLong violations = new AtomicLong();
        final AtomicInteger inFlight = new AtomicInteger();
        final AtomicInteger detachedCalls = new AtomicInteger();
        volatile boolean detached;
        volatile long detachedAtNanos;
        final int markOffset;

        MarkingFilter(int markOffset) { this.markOffset = markOffset; }

        private int mark(org.kextnet.kpi.mbuf.Mbuf m) {
            inFlight.incrementAndGet();
            if (detached) violations.incrementAndGet();
            m.put8(markOffset, m.getU8(markOffset) + 1);
            inFlight.decrementAndGet();
            return 0;
        }

        @Override public int input(org.kextnet.kpi.mbuf.Mbuf m, int offset, int protocol) { return mark(m); }
        @Override public int output(org.kextnet.kpi.mbuf.Mbuf m, IpPacketOptions options) { return mark(m); }

        @Override public void detached() {
            if (inFlight.get() != 0) violations.incrementAndGet();
            detachedAtNanos = System.nanoTime();
            detached = true;
            detachedCalls.incrementAndGet();
        }
    }

    /** Checks the stream at the sink: in order, no gap, no duplicate, marked as expected. */
    static final class Sink {
        long next;
        long outOfOrder, badMark;
        final int[] allowedMarks;

        Sink(int... allowedMarks) { this.allowedMarks = allowedMarks; }

        void accept(long seq, int mark) {
            if (seq != next) outOfOrder++;
            next = seq + 1;
            if (Arrays.stream(allowedMarks).noneMatch(a -> a == mark)) badMark++;
        }
    }

    private static byte[] template(int src, int dst) {
        byte[] ip = Frames.udpPacket(src, dst, 40000, 5000, new byte[16]);
        ip[Frames.IP_HEADER + 6] = 0; // UDP checksum off: the filter rewrites the payload
        ip[Frames.IP_HEADER + 7] = 0;
        return ip;
    }

    /** How many packets the last {@link #produce} sent. */
    private static volatile int lastProduced;

    /** Packets in flight at most: less than any ring, so a slow sink never makes the kernel drop. */
    private static final int WINDOW = 2048;

    /**
     * Produces the stream on this thread, at most {@link #WINDOW} packets ahead of the sink, and retries when
     * the ring is full, so nothing is dropped at the source or for lack of room further on.
     */
    private static long produce(EmbeddedKernel k, String link, byte[] frame, int payloadOffset, int count,
                                java.util.function.LongSupplier sunk) {
        return produce(k, link, frame, payloadOffset, count, sunk, () -> true);
    }

    /** As above, but goes on after {@code count} packets until {@code enough} says so (bounded by MAX_PACKETS). */
    private static long produce(EmbeddedKernel k, String link, byte[] frame, int payloadOffset, int count,
                                java.util.function.LongSupplier sunk, java.util.function.BooleanSupplier enough) {
        MemoryWire.End end = k.link(link).wire().a();
        long start = System.nanoTime();
        for (int seq = 0; seq < count || (seq < MAX_PACKETS && !enough.getAsBoolean()); seq++) {
            lastProduced = seq + 1;
            while (seq - sunk.getAsLong() >= WINDOW) Thread.onSpinWait();
            Mbuf m;
            while ((m = k.kernel().buffers().alloc()) == null) Thread.onSpinWait();
            m.setLength(frame.length);
            m.copyFrom(0, frame, 0, frame.length);
            m.putInt(payloadOffset + SEQ, 0);
            m.putInt(payloadOffset + SEQ + 4, seq);
            m.setCsumFlags(Mbuf.CSUM_IP_CHECKED | Mbuf.CSUM_IP_VALID);
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
        MarkingFilter.violations.set(0);
        try (EmbeddedKernel k = EmbeddedKernel.builder().ethernet("wire0", "10.0.0.1/24").threaded(true).buffers(16384, 8).build()) {
            ExtensionHandle kpi = k.kpi("stress");
            int payload = Frames.ETHER_HEADER + Frames.IP_HEADER + Frames.UDP_HEADER;
            Sink sink = new Sink(1);
            AtomicLong delivered = new AtomicLong();
            UdpSocket so = k.kernel().udp().open();
            so.setUpcall((ctx, s, m, hl) -> {
                int p = hl + Frames.UDP_HEADER;
                sink.accept(((long) m.getInt(p + SEQ) << 32) | (m.getInt(p + SEQ + 4) & 0xffffffffL), m.getU8(p + MARK));
                delivered.incrementAndGet();
                m.free();
            });
            so.bind(0, 5000);
            List<MarkingFilter> all = new ArrayList<>();
            MarkingFilter first = new MarkingFilter(Frames.IP_HEADER + Frames.UDP_HEADER + MARK);
            all.add(first);
            IpFilterRef ref = kpi.ipFilters().addV4("mark", Position.DEFAULT, first);
            Replacer replacer = new Replacer(ref, all, Frames.IP_HEADER + Frames.UDP_HEADER + MARK);
            Thread rt = Thread.ofPlatform().name("replacer").start(replacer);
            byte[] frame = Frames.ethernet(k.link().kernelMac(), k.link().peerMac(), Frames.ETHERTYPE_IPV4, template(k.peerIp(), k.ip()));
            long nanos;
            long elapsed;
            int sent;
            try {
                nanos = produce(k, "wire0", frame, payload, PACKETS, delivered::get, () -> replacer.replaces >= MIN_REPLACES);
                sent = lastProduced;
                await(() -> delivered.get() == sent, "delivery of " + sent + " packets (got " + delivered.get() + ", "
                        + k.kernel().stats().format(false) + ")");
            } finally {
                elapsed = System.nanoTime() - replacer.startNanos;
                replacer.stop = true;
                rt.join();
            }
            replacer.current.remove();
            k.awaitDetached();
            report("IP input filter replace", sent, nanos, replacer, elapsed);
            assertThat(sink.outOfOrder).as("lost, duplicated or reordered").isZero();
            assertThat(sink.next).isEqualTo(sent);
            assertThat(replacer.replaces).isGreaterThanOrEqualTo(MIN_REPLACES);
            assertThat(sink.badMark).as("packets that saw no filter instance or two").isZero();
            assertThat(replacer.replaces).isPositive();
            for (MarkingFilter f : all) assertThat(f.detachedCalls.get()).isEqualTo(1);
            assertThat(MarkingFilter.violations.get()).as("calls after detached, or detached during a call").isZero();
            assertThat(k.stat(Stat.IP_FILTERED) + k.stat(Stat.NKE_FAULT_DROPS)).isZero();
            so.close();
        }
    }

    /** Removes and re-adds an IP output filter continuously while the stream is forwarded between two wires. */
    @Test void detachAndReattachOutputFilterWhileForwarding() throws Exception {
        MarkingFilter.violations.set(0);
        try (EmbeddedKernel k = EmbeddedKernel.builder().ethernet("wire0", "10.0.0.1/24").ethernet("wire1", "10.1.0.1/24")
                .forwarding(true).threaded(true).buffers(16384, 8).build()) {
            ExtensionHandle kpi = k.kpi("stress");
            int mark = Frames.IP_HEADER + Frames.UDP_HEADER + MARK;
            List<MarkingFilter> all = new ArrayList<>();
            Reattacher reattacher = new Reattacher(kpi, all, mark);
            Sink sink = new Sink(0, 1);
            AtomicLong received = new AtomicLong();
            MemoryWire.End far = k.link("wire1").wire().b();
            int payload = Frames.ETHER_HEADER + Frames.IP_HEADER + Frames.UDP_HEADER;
            Thread consumer = Thread.ofPlatform().name("consumer").start(() -> {
                while (received.get() < PACKETS && !Thread.currentThread().isInterrupted()) {
                    Mbuf m = far.take();
                    if (m == null) {
                        Thread.onSpinWait();
                        continue;
                    }
                    sink.accept(((long) m.getInt(payload + SEQ) << 32) | (m.getInt(payload + SEQ + 4) & 0xffffffffL), m.getU8(payload + MARK));
                    m.free();
                    received.incrementAndGet();
                }
            });
            Thread rt = Thread.ofPlatform().name("reattacher").start(reattacher);
            byte[] frame = Frames.ethernet(k.link("wire0").kernelMac(), k.link("wire0").peerMac(), Frames.ETHERTYPE_IPV4,
                    template(k.link("wire0").peerIp(), k.link("wire1").peerIp()));
            long nanos;
            long elapsed;
            try {
                nanos = produce(k, "wire0", frame, payload, PACKETS, received::get);
                await(() -> received.get() == PACKETS, "forwarding of " + PACKETS + " packets (got " + received.get() + ", "
                        + k.kernel().stats().format(false) + ")");
            } finally {
                elapsed = System.nanoTime() - reattacher.startNanos;
                reattacher.stop = true;
                rt.join();
                consumer.interrupt();
                consumer.join();
            }
            kpi.removeAll();
            k.awaitDetached();
            report("IP output filter detach/attach (forwarding)", PACKETS, nanos, reattacher, elapsed);
            assertThat(sink.outOfOrder).as("lost, duplicated or reordered").isZero();
            assertThat(sink.next).isEqualTo(PACKETS);
            assertThat(sink.badMark).as("packets marked twice").isZero();
            for (MarkingFilter f : all) assertThat(f.detachedCalls.get()).isEqualTo(1);
            assertThat(MarkingFilter.violations.get()).isZero();
        }
    }

    /** Measures registration changes: how long from remove/replace to the old filter's detached callback. */
    abstract static class Churn implements Runnable {
        volatile boolean stop;
        volatile long startNanos = System.nanoTime();
        volatile int replaces;
        final List<Long> latencies = new ArrayList<>();

        void waitDetached(MarkingFilter f, long since) {
            // Spin briefly, then park: the churn thread must not starve the packet threads on a small machine.
            while (!f.detached && !stop) {
                if (System.nanoTime() - since < 20_000) Thread.onSpinWait();
                else java.util.concurrent.locks.LockSupport.parkNanos(20_000);
            }
            if (f.detached) latencies.add(f.detachedAtNanos - since);
        }
    }

    static final class Replacer extends Churn {
        volatile IpFilterRef current;
        final List<MarkingFilter> all;
        final int mark;

        Replacer(IpFilterRef ref, List<MarkingFilter> all, int mark) {
            this.current = ref;
            this.all = all;
            this.mark = mark;
        }

        @Override public void run() {
            startNanos = System.nanoTime();
            try {
                while (!stop) {
                    MarkingFilter old = all.get(all.size() - 1);
                    MarkingFilter next = new MarkingFilter(mark);
                    synchronized (all) {
                        all.add(next);
                    }
                    long t = System.nanoTime();
                    current = current.replace(next);
                    replaces++;
                    waitDetached(old, t);
                }
            } catch (KpiException e) {
                throw new AssertionError(e);
            }
        }
    }

    static final class Reattacher extends Churn {
        final ExtensionHandle kpi;
        final List<MarkingFilter> all;
        final int mark;

        Reattacher(ExtensionHandle kpi, List<MarkingFilter> all, int mark) {
            this.kpi = kpi;
            this.all = all;
            this.mark = mark;
        }

        @Override public void run() {
            startNanos = System.nanoTime();
            try {
                while (!stop) {
                    MarkingFilter f = new MarkingFilter(mark);
                    synchronized (all) {
                        all.add(f);
                    }
                    IpFilterRef ref = kpi.ipFilters().addV4("mark", Position.DEFAULT, f);
                    Thread.onSpinWait();
                    long t = System.nanoTime();
                    ref.remove();
                    replaces++;
                    waitDetached(f, t);
                }
            } catch (KpiException e) {
                throw new AssertionError(e);
            }
        }
    }

    private static void report(String what, int packets, long produceNanos, Churn churn, long churnNanos) {
        List<Long> l = new ArrayList<>(churn.latencies);
        l.sort(null);
        long p50 = l.isEmpty() ? 0 : l.get(l.size() / 2);
        long p99 = l.isEmpty() ? 0 : l.get((int) Math.min(l.size() - 1, Math.round(l.size() * 0.99)));
        long max = l.isEmpty() ? 0 : l.get(l.size() - 1);
        System.out.printf("%s: %,d packets in %.3f s = %.2f Mpps offered; %,d registration changes (%.0f/s); "
                        + "change-to-detached p50 %.1f us, p99 %.1f us, max %.1f us%n",
                what, packets, produceNanos / 1e9, packets / (produceNanos / 1e3), churn.replaces,
                churn.replaces / (churnNanos / 1e9), p50 / 1e3, p99 / 1e3, max / 1e3);
    }
}
