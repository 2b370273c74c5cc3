package org.kextnet.kernel.inet.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kernel.stat.Stat;

/**
 * TCP's steady state allocates nothing (issue 12): one flow between two kernels on a memory wire at MTU 1500, a
 * writer and a reader thread blocking in the socket calls, and, once the JIT has compiled the path, the bytes every
 * thread of the flow allocates (both kernels' threads, the writer, the reader) per data segment received. A
 * per-segment allocation (16 bytes at least), and one per blocking wait (a Condition node every few segments), are
 * both far above the bound; a one-off (a deoptimised method running interpreted for a moment) is not, and the
 * measure is taken again in a later window if it happened.
 */
class TcpAllocationTest {
    private static final int PORT = 7100;
    private static final long WARM_UP_BYTES = 256L << 20, WINDOW_BYTES = 48L << 20;
    private static final int WINDOWS = 6;
    /** Bytes allocated per data segment a window may show. */
    private static final double BOUND = 0.05;
    /** How long the flow may take to carry one window (a bounded wait, not a measure: it moves gigabits a second). */
    private static final long PROGRESS_WAIT = TimeUnit.SECONDS.toNanos(120);

    private final com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private volatile boolean running = true;
    private volatile long received;
    private volatile Throwable failed;

    @Test void theSteadyStateAllocatesNothingPerSegment() throws Exception {
        try (KernelPair pair = new KernelPair("alloc", 17, MemoryWire.Options.perfect())) {
            TcpSocket server = pair.keep(pair.b.tcp().open()).bind(0, PORT);
            server.listen(1);
            TcpSocket client = pair.keep(pair.a.tcp().open());
            client.connect(pair.addrB, PORT);
            TcpSocket accepted = pair.keep(server.accept(30, TimeUnit.SECONDS));
            assertThat(accepted).isNotNull();

            Thread reader = Thread.ofPlatform().name("alloc-reader").daemon().start(() -> read(accepted));
            Thread writer = Thread.ofPlatform().name("alloc-writer").daemon().start(() -> write(client));
            try {
                awaitReceived(WARM_UP_BYTES);
                long[] ids = flowThreads(reader, writer);
                List<String> windows = new ArrayList<>();
                double best = Double.MAX_VALUE;
                for (int w = 0; w < WINDOWS && best >= BOUND; w++) {
                    long[] before = mx.getThreadAllocatedBytes(ids);
                    long segments0 = pair.b.stats().get(Stat.TCP_RCV_DATA);
                    awaitReceived(received + WINDOW_BYTES);
                    long[] after = mx.getThreadAllocatedBytes(ids);
                    long segments = pair.b.stats().get(Stat.TCP_RCV_DATA) - segments0;
                    long bytes = 0;
                    for (int i = 0; i < ids.length; i++) {
                        if (before[i] >= 0 && after[i] >= 0) bytes += after[i] - before[i]; // -1: the thread ended
                    }
                    double perSegment = (double) bytes / segments;
                    best = Math.min(best, perSegment);
                    windows.add(bytes + " bytes over " + segments + " segments");
                }
                System.out.printf("TCP steady state, MTU 1500: %s (load %s)%n", windows,
                        ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
                assertThat(best).as("bytes allocated per segment, best of the windows %s", windows).isLessThan(BOUND);
            } finally {
                running = false;
                writer.join(10_000);
                client.close();
                reader.join(10_000);
            }
            assertThat(failed).as("the writer and the reader").isNull();
        }
    }

    /** The writer, the reader, and every thread of the two kernels ("kextnet-alloc-a-em0" and the like). */
    private static long[] flowThreads(Thread reader, Thread writer) {
        List<Long> ids = new ArrayList<>(List.of(reader.threadId(), writer.threadId()));
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("kextnet-alloc-")) ids.add(t.threadId());
        }
        assertThat(ids).as("the kernels' threads").hasSizeGreaterThan(4);
        return ids.stream().mapToLong(Long::longValue).toArray();
    }

    private void awaitReceived(long bytes) throws InterruptedException {
        long deadline = System.nanoTime() + PROGRESS_WAIT;
        while (received < bytes && failed == null && System.nanoTime() - deadline < 0) Thread.sleep(5);
        assertThat(failed).as("the writer and the reader").isNull();
        assertThat(received).as("bytes received within %d s", TimeUnit.NANOSECONDS.toSeconds(PROGRESS_WAIT)).isGreaterThanOrEqualTo(bytes);
    }

    private void write(TcpSocket s) {
        ByteBuffer src = ByteBuffer.allocate(256 << 10);
        try {
            while (running) {
                src.clear();
                s.write(src);
            }
        } catch (Throwable e) {
            if (running) failed = e;
        }
    }

    private void read(TcpSocket s) {
        ByteBuffer dst = ByteBuffer.allocate(256 << 10);
        try {
            while (true) {
                dst.clear();
                int n = s.read(dst, 100, TimeUnit.MILLISECONDS);
                if (n < 0) return;
                received += n; // this thread is the only writer
            }
        } catch (Throwable e) {
            if (running) failed = e;
        }
    }
}
