package org.kextnet.kernel.inet.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.kextnet.kernel.inet.tcp.TcpTestNet.MS;
import static org.kextnet.kernel.inet.tcp.TcpTestNet.SECOND;

import org.junit.jupiter.api.Test;
import org.kextnet.kernel.inet.tcp.TcpTestNet.Impairment;
import org.kextnet.kernel.stat.Stat;

/**
 * BBR between two whole TCP stacks on virtual time ({@link TcpTestNet}): under random loss BBR on both ends
 * moves every byte intact, and far more of them than CUBIC in the same time.
 */
class BbrTransferTest {
    static final long MB = 1_000_000;
    /** 100 Mbit/s, 10 ms each way (a 20 ms RTT), 1 % of the segments lost each way. */
    static final Impairment LOSSY = Impairment.delay(10 * MS).withLoss(0.01).withRate(12_500_000, 2000);

    record Result(long aToB, long bToA, long took) { }

    /**
     * Sends {@code bytes} each way at once with {@code cc} on both ends, to the end (checking every byte) or for
     * {@code limit} of virtual time.
     */
    private static Result transfer(String cc, long bytes, long limit, boolean toTheEnd) throws Exception {
        TcpConfig ca = new TcpConfig(), cb = new TcpConfig();
        ca.congestionControl = cc;
        cb.congestionControl = cc;
        try (TcpTestNet net = new TcpTestNet(ca, cb, 12)) {
            net.tracing = false;
            net.a.out = LOSSY;
            net.b.out = LOSSY;
            Pump client = new Pump(bytes, 41), server = new Pump(bytes, 43);
            TcpTestNet.Events le = new TcpTestNet.Events();
            le.childUpcall = server;
            net.b.stack.listen(net.b.at(80), 4, new TcpSocketOptions(), le);
            TcpConnection c = net.a.stack.open(client);
            c.connect(net.b.at(80));
            long start = net.now();
            if (toTheEnd) net.runUntil(() -> client.done() && server.done() || client.error != 0 || server.error != 0, limit);
            else net.runFor(limit);
            assertThat(client.error).isZero();
            assertThat(server.error).isZero();
            assertThat(c.congestionControl()).isEqualTo(cc);
            System.out.printf("%s, 1%% loss, 20 ms, 100 Mbit/s: %.1f s virtual, a->b %.1f MB, b->a %.1f MB, rexmit %d, RTOs %d%n", cc,
                    (net.now() - start) / 1e9, server.received / 1e6, client.received / 1e6,
                    net.a.count(Stat.TCP_SND_REXMIT) + net.b.count(Stat.TCP_SND_REXMIT), net.a.count(Stat.TCP_RTO) + net.b.count(Stat.TCP_RTO));
            if (toTheEnd) {
                assertThat(server.receivedDigest()).isEqualTo(client.sentDigest());
                assertThat(client.receivedDigest()).isEqualTo(server.sentDigest());
                assertThat(net.a.count(Stat.TCP_SND_REXMIT)).as("the wire lost segments").isPositive();
            }
            return new Result(server.received, client.received, net.now() - start);
        }
    }

    @Test void underOnePercentLossAndTwentyMillisecondsBbrMovesEveryByteAndFarMoreThanCubic() throws Exception {
        Result bbr = transfer("bbr", 20 * MB, 120 * SECOND, true);
        assertThat(bbr.aToB()).isEqualTo(20 * MB);
        assertThat(bbr.bToA()).isEqualTo(20 * MB);
        // 20 MB at 100 Mbit/s is 1.6 s; the loss and the start cost BBR little
        assertThat(bbr.took()).isLessThan(4 * SECOND);
        Result cubic = transfer("cubic", 20 * MB, bbr.took(), false);
        assertThat(cubic.aToB()).as("CUBIC sits on the Mathis bound").isLessThan(20 * MB / 3);
        assertThat(cubic.bToA()).isLessThan(20 * MB / 3);
    }
}
