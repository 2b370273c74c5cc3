package org.kextnet.examples.netem;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.kextnet.testkit.Counter;
import org.kextnet.testkit.EmbeddedKernel;
import org.kextnet.testkit.TcpTestSocket;

/**
 * Two kernels exchange TCP data through netem on both sides of their wire (each impairs what it sends): delay,
 * jitter, loss, duplication and reordering, on a manual clock. Every byte arrives, in order (SHA-256 of each
 * direction), TCP had to recover (retransmissions, out-of-order segments, duplicates), and the same seeds give the
 * same run, frame for frame.
 */
class NetemTcpTest {
    private static final int SIZE = 2 << 20;
    private static final String IMPAIRMENT = "delay 5ms jitter 2ms loss 2% dup 1% reorder 5% limit 2000";

    /** What one run saw: the two netem lines and the kernels' TCP counters. */
    private record Outcome(String kernelSide, String peerSide, long retransmits, long outOfOrder, long duplicates) {}

    private static Outcome transfer(long seed) throws Exception {
        byte[] up = new byte[SIZE], down = new byte[SIZE];
        new Random(seed).nextBytes(up);
        new Random(~seed).nextBytes(down);
        try (EmbeddedKernel k = EmbeddedKernel.builder().ethernet("wire0", "10.0.0.1/24").manualClock().build();
             EmbeddedKernel peer = k.peer()) {
            Netem near = new Netem(), far = new Netem();
            assertThat(near.start(k.kpi(Netem.NAME))).isZero();
            assertThat(far.start(peer.kpi(Netem.NAME))).isZero();
            assertThat(near.command("set wire0 out " + IMPAIRMENT + " seed " + seed)).doesNotStartWith("error");
            assertThat(far.command("set wire0 out " + IMPAIRMENT + " seed " + (seed + 1))).doesNotStartWith("error");

            TcpTestSocket server = k.listenTcp(5001);
            TcpTestSocket client = peer.connectTcp(k.ip(), 5001);
            TcpTestSocket conn = server.accept();
            MessageDigest atKernel = MessageDigest.getInstance("SHA-256"), atPeer = MessageDigest.getInstance("SHA-256");
            long gotUp = 0, gotDown = 0;
            int sentUp = 0, sentDown = 0;
            // Both ways at once: each side writes what its buffer takes and reads what came; time moves when neither can.
            for (int round = 0; round < 200_000 && (gotUp < SIZE || gotDown < SIZE); round++) {
                if (sentUp < SIZE) sentUp += client.write(Arrays.copyOfRange(up, sentUp, Math.min(SIZE, sentUp + 65536)), 0, TimeUnit.SECONDS);
                if (sentDown < SIZE) sentDown += conn.write(Arrays.copyOfRange(down, sentDown, Math.min(SIZE, sentDown + 65536)), 0, TimeUnit.SECONDS);
                byte[] b = conn.read(1 << 16, 0, TimeUnit.SECONDS);
                atKernel.update(b);
                gotUp += b.length;
                b = client.read(1 << 16, 0, TimeUnit.SECONDS);
                atPeer.update(b);
                gotDown += b.length;
                k.runUntil(() -> conn.available() > 0 || client.available() > 0, 1, TimeUnit.SECONDS);
            }
            assertThat(gotUp).isEqualTo(SIZE);
            assertThat(gotDown).isEqualTo(SIZE);
            assertThat(atKernel.digest()).as("kernel received the peer's bytes intact").isEqualTo(MessageDigest.getInstance("SHA-256").digest(up));
            assertThat(atPeer.digest()).as("peer received the kernel's bytes intact").isEqualTo(MessageDigest.getInstance("SHA-256").digest(down));

            client.close();
            assertThat(conn.readToEnd(30, TimeUnit.SECONDS)).isEmpty();
            conn.close();
            server.close();
            Outcome o = new Outcome(near.command("show"), far.command("show"),
                    k.stat(Counter.TCP_SND_REXMIT) + peer.stat(Counter.TCP_SND_REXMIT),
                    k.stat(Counter.TCP_RCV_OOO) + peer.stat(Counter.TCP_RCV_OOO),
                    k.stat(Counter.TCP_RCV_DUP) + peer.stat(Counter.TCP_RCV_DUP));
            k.advanceTime(3, TimeUnit.MINUTES); // TIME-WAIT and netem's queues empty
            assertThat(k.leakedBuffers()).as(k.statistics()).isZero();
            assertThat(peer.leakedBuffers()).as(peer.statistics()).isZero();
            return o;
        }
    }

    @Test void tcpCarriesEveryByteThroughLossDelayReorderingAndDuplicationDeterministically() throws Exception {
        Outcome a = transfer(42);
        System.out.println(a);
        for (String side : new String[] {a.kernelSide(), a.peerSide()}) {
            for (String counter : new String[] {"lost", "duplicated", "reordered", "delayed"}) {
                assertThat(NetemTest.counter(side, counter)).as("%s in %s", counter, side).isPositive();
            }
        }
        assertThat(a.retransmits()).as("TCP retransmitted what was lost").isPositive();
        assertThat(a.outOfOrder()).as("segments arrived out of order").isPositive();
        assertThat(a.duplicates()).as("duplicate segments arrived").isPositive();
        assertThat(transfer(42)).as("the same seeds: the same run").isEqualTo(a);
    }
}
