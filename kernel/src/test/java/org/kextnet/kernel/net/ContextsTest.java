package org.kextnet.kernel.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.wire.Ipv4;

/** Per-thread state has a lifecycle: threads that come and go leave nothing behind in the kernel. */
class ContextsTest {
    private static final int THREADS = 100_000, WAVE = 5_000;

    @Test void aDatagramFromEachOfAHundredThousandVirtualThreadsLeavesTheRegistriesAsTheyWere() throws Exception {
        try (Kernel k = new Kernel("ctx")) {
            int lo = Ipv4.parse("127.0.0.1");
            AtomicLong received = new AtomicLong();
            UdpSocket sink = k.udp().open();
            sink.setUpcall((ctx, so, m, hl) -> {
                received.incrementAndGet();
                m.free();
            });
            sink.bind(lo, 5000);
            UdpSocket warm = k.udp().open(); // one send first, so the baseline holds whatever the first one makes
            warm.send(ByteBuffer.allocate(1), lo, 5000);
            int cellsBefore = settled(k);

            AtomicLong sent = new AtomicLong();
            for (int wave = 0; wave < THREADS / WAVE; wave++) {
                CountDownLatch done = new CountDownLatch(WAVE);
                for (int i = 0; i < WAVE; i++) {
                    Thread.ofVirtual().start(() -> {
                        try {
                            warm.send(ByteBuffer.allocate(8), lo, 5000);
                            sent.incrementAndGet();
                        } catch (SocketError e) {
                            // an empty pool under the burst: the send is refused and counted, nothing leaks
                        } finally {
                            done.countDown();
                        }
                    });
                }
                assertThat(done.await(60, TimeUnit.SECONDS)).as("wave %d", wave).isTrue();
            }

            assertThat(sent.get()).as("most sends got through").isGreaterThan(THREADS / 2);
            assertThat(k.stats().liveCells()).as("cells a statistics read sums")
                    .isLessThanOrEqualTo(cellsBefore + Contexts.POOL_LIMIT);
            assertThat(k.contexts().pooled()).isLessThanOrEqualTo(Contexts.POOL_LIMIT);
            assertThat(k.contexts().held()).as("this thread holds no context between calls").isFalse();
            // Counts of retired contexts are folded into the totals, not lost: one UDP_OUT per datagram sent.
            assertThat(k.stats().get(Stat.UDP_OUT)).isEqualTo(sent.get() + 1);
            sink.close();
            warm.close();
        }
    }

    /** The cells of the kernel's own threads (timer, lo0's reader), once they have all started. */
    private static int settled(Kernel k) throws InterruptedException {
        int n = k.stats().liveCells();
        for (int same = 0, i = 0; same < 5 && i < 500; i++) {
            Thread.sleep(10);
            int m = k.stats().liveCells();
            same = m == n ? same + 1 : 0;
            n = m;
        }
        return n;
    }

    @Test void aThreadThatOpensAContextGivesItBackWhenItCloses() throws Exception {
        try (Kernel k = new Kernel("ctx2")) {
            int before = settled(k);
            Thread t = Thread.ofPlatform().start(() -> {
                PacketContext ctx = k.contexts().open();
                ctx.stats().inc(Stat.IP_TOTAL);
                assertThat(k.contexts().acquire()).as("calls on the thread run on its own context").isSameAs(ctx);
                k.contexts().release(ctx);
                ctx.close();
            });
            t.join();
            assertThat(k.stats().liveCells()).isEqualTo(before);
            assertThat(k.stats().get(Stat.IP_TOTAL)).isEqualTo(1);
        }
    }
}
