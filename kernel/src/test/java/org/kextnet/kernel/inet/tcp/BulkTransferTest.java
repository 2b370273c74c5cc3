package org.kextnet.kernel.inet.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.kextnet.kernel.inet.tcp.TcpTestNet.MS;
import static org.kextnet.kernel.inet.tcp.TcpTestNet.SECOND;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.kextnet.kernel.inet.tcp.TcpTestNet.Impairment;
import org.kextnet.kernel.stat.Stat;

/**
 * 100 MB each way at once between two stacks, over a clean wire and impaired ones, every byte checked by
 * SHA-256 and every run reproducible from its seed.
 */
class BulkTransferTest {
    static final long MB = 1_000_000;

    record Scenario(String name, Impairment impairment, String cc, boolean sack, long bytes, long seed) {
        @Override public String toString() { return name; }
    }

    static Stream<Arguments> scenarios() {
        Impairment d10 = Impairment.delay(10 * MS);
        return Stream.of(
                new Scenario("clean", Impairment.NONE, "cubic", true, 100 * MB, 1),
                new Scenario("clean 20 ms", Impairment.delay(20 * MS), "cubic", true, 100 * MB, 2),
                new Scenario("1% loss, 10 ms", d10.withLoss(0.01), "cubic", true, 100 * MB, 3),
                new Scenario("5% loss, 10 ms", d10.withLoss(0.05), "cubic", true, 100 * MB, 4),
                new Scenario("5% reordering, jitter, 10 ms", d10.withReorder(0.05).withJitter(2 * MS), "cubic", true, 100 * MB, 5),
                new Scenario("5% duplication, 10 ms", d10.withDuplicate(0.05), "cubic", true, 100 * MB, 6),
                new Scenario("1% loss, reordering, duplication, 20 ms, 1 Gbit/s", Impairment.delay(20 * MS).withLoss(0.01)
                        .withReorder(0.02).withDuplicate(0.02).withRate(125_000_000, 2000), "cubic", true, 100 * MB, 7),
                new Scenario("1% loss, 10 ms, NewReno", d10.withLoss(0.01), "newreno", true, 100 * MB, 8),
                new Scenario("1% loss, reordering, 10 ms, no SACK (RFC 6582)", d10.withLoss(0.01).withReorder(0.01), "newreno", false, 100 * MB, 9),
                new Scenario("5% loss, 10 ms, no SACK", d10.withLoss(0.05), "cubic", false, 100 * MB, 10),
                new Scenario("clean, BBR", Impairment.NONE, "bbr", true, 100 * MB, 11),
                new Scenario("5% loss, 10 ms, BBR", d10.withLoss(0.05), "bbr", true, 100 * MB, 12),
                new Scenario("1% loss, reordering, duplication, 20 ms, 1 Gbit/s, BBR", Impairment.delay(20 * MS).withLoss(0.01)
                        .withReorder(0.02).withDuplicate(0.02).withRate(125_000_000, 2000), "bbr", true, 100 * MB, 13),
                new Scenario("1% loss, 10 ms, no SACK, BBR", d10.withLoss(0.01), "bbr", false, 100 * MB, 14),
                // a queue shallower than the BDP (~1.25 MB, 860 segments): BBR v1's 2-BDP window overflows it
                new Scenario("shallow queue (250 packets), 10 ms, 0.5 Gbit/s, BBR", d10.withRate(62_500_000, 250), "bbr", true, 100 * MB, 15))
                .map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("scenarios")
    void everyByteArrivesBothWays(Scenario sc) throws Exception {
        TcpConfig ca = new TcpConfig(), cb = new TcpConfig();
        for (TcpConfig c : new TcpConfig[] {ca, cb}) {
            c.congestionControl = sc.cc;
            c.sack = sc.sack;
        }
        try (TcpTestNet net = new TcpTestNet(ca, cb, sc.seed)) {
            net.tracing = false;
            net.a.out = sc.impairment;
            net.b.out = sc.impairment;
            Pump client = new Pump(sc.bytes, sc.seed * 31), server = new Pump(sc.bytes, sc.seed * 37);
            TcpTestNet.Events le = new TcpTestNet.Events();
            le.childUpcall = server;
            net.b.stack.listen(net.b.at(80), 16, new TcpSocketOptions(), le);
            TcpConnection c = net.a.stack.open(client);
            c.connect(net.b.at(80));
            net.runUntil(() -> client.done() && server.done() || client.error != 0 || server.error != 0, 3600 * SECOND);
            assertThat(client.error).isZero();
            assertThat(server.error).isZero();
            assertThat(server.received).isEqualTo(sc.bytes);
            assertThat(client.received).isEqualTo(sc.bytes);
            assertThat(server.receivedDigest()).isEqualTo(client.sentDigest());
            assertThat(client.receivedDigest()).isEqualTo(server.sentDigest());
            c.close();
            server.connection.close();
            net.runFor(200 * SECOND);
            assertThat(net.a.stack.connectionCount() + net.b.stack.connectionCount()).isZero();
            System.out.printf("%s: %.1f s virtual; A sent %d data segments, retransmitted %d (D-SACKed back %d), TLPs %d, RTOs %d, recoveries %d%n",
                    sc.name, (net.now() - SECOND) / 1e9 - 200, net.a.count(Stat.TCP_SND_DATA), net.a.count(Stat.TCP_SND_REXMIT),
                    net.b.count(Stat.TCP_DSACK_SENT), net.a.count(Stat.TCP_TLP), net.a.count(Stat.TCP_RTO), net.a.count(Stat.TCP_RECOVERY));
            net.close();
            assertThat(net.buffersInUse()).isZero();
        }
    }

    /**
     * A reader that reads odd amounts at odd times keeps the window partly closed, with window scaling on:
     * the advertised edge must never creep past the receive buffer (it once did, by up to one scale unit per
     * ACK, and new data overwrote unread data).
     */
    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 3})
    void aSlowReaderOfOddAmountsGetsEveryByte(long seed) throws Exception {
        try (TcpTestNet net = new TcpTestNet(new TcpConfig(), new TcpConfig(), seed)) {
            net.tracing = false;
            double loss = seed == 1 ? 0 : 0.01;
            net.a.out = Impairment.delay(MS).withLoss(loss);
            net.b.out = Impairment.delay(MS).withLoss(loss);
            TcpTestNet.Events le = new TcpTestNet.Events();
            net.b.stack.listen(net.b.at(80), 4, new TcpSocketOptions(), le);
            TcpConnection c = net.a.stack.open(new TcpTestNet.Events());
            c.connect(net.b.at(80));
            net.runUntil(() -> !le.accepted.isEmpty() && c.state() == TcpState.ESTABLISHED, SECOND);
            TcpConnection s = le.accepted.get(0);
            MessageDigest sent = MessageDigest.getInstance("SHA-256"), got = MessageDigest.getInstance("SHA-256");
            SplittableRandom data = new SplittableRandom(seed), pace = new SplittableRandom(seed * 7);
            byte[] chunk = new byte[100_000];
            ByteBuffer pending = ByteBuffer.allocate(0), in = ByteBuffer.allocate(65536);
            long total = 8_000_000, written = 0, read = 0;
            while (read < total) {
                if (!pending.hasRemaining() && written < total) {
                    data.nextBytes(chunk);
                    sent.update(chunk);
                    written += chunk.length;
                    pending = ByteBuffer.wrap(chunk);
                }
                if (pending.hasRemaining()) c.write(pending);
                net.runFor(pace.nextInt(1, 20) * MS);
                in.clear();
                in.limit(pace.nextInt(1, 65536));
                int n = s.read(in);
                if (n > 0) {
                    got.update(in.array(), 0, n);
                    read += n;
                }
                if (net.now() > 3600 * SECOND) throw new AssertionError("stuck after " + read + " bytes");
            }
            assertThat(got.digest()).isEqualTo(sent.digest());
            assertThat(s.info().receiveWindow()).isLessThanOrEqualTo(s.receiveBuffer() + 127);
        }
    }
}
