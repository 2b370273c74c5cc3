package org.kextnet.kernel.inet.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kernel.stat.Stat;

/**
 * Two whole kernels (IPv4, sockets, real threads) over a memory wire that loses, delays, reorders and duplicates
 * frames, each scenario's choice of frames drawn from its seed: 16 MB go each way at once through TCP sockets and
 * arrive whole (SHA-256), and each kernel's counters show it met the impairment. The engine-to-engine scenarios on
 * virtual time are in {@link BulkTransferTest}; these add the rest of the stack and real concurrency.
 */
class ImpairedWireTest {
    private static final int SIZE = 16 << 20;
    private static final long WAIT = 120;

    enum Scenario {
        LOSS_1_PERCENT(MemoryWire.Options.perfect().withLoss(0.01).withSeed(101)),
        LOSS_5_PERCENT(MemoryWire.Options.perfect().withLoss(0.05).withSeed(102)),
        DELAY_20_MS(MemoryWire.Options.perfect().withDelayNanos(20_000_000).withSeed(103)),
        REORDER_5_PERCENT(MemoryWire.Options.perfect().withReordering(0.05).withSeed(104)),
        DUPLICATE_5_PERCENT(MemoryWire.Options.perfect().withDuplication(0.05).withSeed(105)),
        ALL_AT_ONCE(MemoryWire.Options.perfect().withLoss(0.02).withDelayNanos(5_000_000).withReordering(0.02)
                .withDuplication(0.02).withSeed(106));

        final MemoryWire.Options options;

        Scenario(MemoryWire.Options options) { this.options = options; }
    }

    /** Blocking socket calls run on virtual threads (the common pool has one thread on two cores). */
    private static final java.util.concurrent.Executor THREADS = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();

    private KernelPair pair;

    @AfterEach void close() throws Exception {
        if (pair != null) pair.close();
    }

    @ParameterizedTest @EnumSource(Scenario.class) @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void sixteenMegabytesGoEachWayAtOnceAndArriveWhole(Scenario s) throws Exception {
        pair = new KernelPair("imp", 9, s.options.withRingSize(16384));
        TcpSocket server = pair.keep(pair.b.tcp().open());
        server.bind(0, 8000);
        server.listen(4);
        TcpSocket client = pair.keep(pair.a.tcp().open());
        client.setTimeout(WAIT, TimeUnit.SECONDS);
        client.connect(pair.addrB, 8000);
        TcpSocket accepted = pair.keep(server.accept(WAIT, TimeUnit.SECONDS));
        assertThat(accepted).isNotNull();
        accepted.setTimeout(WAIT, TimeUnit.SECONDS);
        byte[] up = data(s.ordinal() * 2L), down = data(s.ordinal() * 2L + 1);

        long t0 = System.nanoTime();
        CompletableFuture<byte[]> atB = CompletableFuture.supplyAsync(() -> exchange(accepted, down), THREADS);
        byte[] atA = exchange(client, up);
        byte[] gotAtB = atB.get(WAIT, TimeUnit.SECONDS);
        long took = System.nanoTime() - t0;

        assertThat(sha(atA)).as("a received b's 16 MB").isEqualTo(sha(down));
        assertThat(sha(gotAtB)).as("b received a's 16 MB").isEqualTo(sha(up));
        MemoryWire.Options o = s.options;
        long lost = pair.a.stats().get(Stat.LINK_WIRE_LOSS) + pair.b.stats().get(Stat.LINK_WIRE_LOSS);
        long rexmit = pair.a.stats().get(Stat.TCP_SND_REXMIT) + pair.b.stats().get(Stat.TCP_SND_REXMIT);
        long dups = pair.a.stats().get(Stat.TCP_RCV_DUP) + pair.b.stats().get(Stat.TCP_RCV_DUP)
                + pair.a.stats().get(Stat.TCP_RCV_PARTDUP) + pair.b.stats().get(Stat.TCP_RCV_PARTDUP);
        long ooo = pair.a.stats().get(Stat.TCP_RCV_OOO) + pair.b.stats().get(Stat.TCP_RCV_OOO);
        System.out.printf("tsv-wire %-20s 2 x 16 MB in %5.2f s; wire lost %d, rexmit %d, dup %d, ooo %d, rto %d%n", s, took / 1e9,
                lost, rexmit, dups, ooo, pair.a.stats().get(Stat.TCP_RTO) + pair.b.stats().get(Stat.TCP_RTO));
        if (o.lossRate() > 0) {
            assertThat(lost).as("frames the wire lost").isPositive();
            assertThat(rexmit).as("segments retransmitted").isPositive();
        }
        if (o.duplicateRate() > 0) assertThat(dups).as("duplicates received").isPositive();
        if (o.reorderRate() > 0) assertThat(ooo).as("out-of-order segments received").isPositive();
    }

    /** Sends {@code out} and reads until the peer's end (after it sent its half), concurrently. */
    private static byte[] exchange(TcpSocket so, byte[] out) {
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
            try {
                assertThat(so.write(ByteBuffer.wrap(out))).isEqualTo(out.length);
                so.shutdown(org.kextnet.kpi.socket.SocketConstants.SHUT_WR);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        }, THREADS);
        try {
            ByteBuffer in = ByteBuffer.allocate(SIZE);
            while (true) {
                int n = so.read(in);
                if (n < 0) break;
                assertThat(n).as("data within the wait").isPositive();
                if (!in.hasRemaining()) {
                    assertThat(so.read(ByteBuffer.allocate(1))).isEqualTo(-1);
                    break;
                }
            }
            writer.get(WAIT, TimeUnit.SECONDS);
            return Arrays.copyOf(in.array(), in.position());
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    private static byte[] data(long seed) {
        byte[] b = new byte[SIZE];
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < b.length; i += 8) {
            long v = r.nextLong();
            for (int k = 0; k < 8; k++) b[i + k] = (byte) (v >>> (8 * k));
        }
        return b;
    }

    private static byte[] sha(byte[] b) throws Exception { return MessageDigest.getInstance("SHA-256").digest(b); }
}
