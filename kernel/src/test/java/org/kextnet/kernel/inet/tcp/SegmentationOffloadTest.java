package org.kextnet.kernel.inet.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.kextnet.kernel.inet.tcp.TcpTestNet.MS;
import static org.kextnet.kernel.inet.tcp.TcpTestNet.SECOND;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.inet.tcp.TcpTestNet.Impairment;
import org.kextnet.kernel.inet.tcp.TcpTestNet.Seg;
import org.kextnet.kernel.inet.tcp.TcpTestNet.SuperSegment;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.wire.Tcp;

/**
 * TCP on a route whose device segments (TCP segmentation offload): new data leaves in super-segments of whole MSS,
 * bounded by the device's largest packet, the congestion window and the peer's window, each marked for the device
 * (segment size, partial checksum); retransmissions stay at one MSS; SYNs and bare FINs are never super-segments.
 * The far stack takes the super-segments whole, as it takes Linux's GSO packets from a TUN device.
 */
class SegmentationOffloadTest {
    private static final int TSO_MAX = 65535;

    /** A (client) sends {@code bytes} to B and both shut down; returns the client's pump after checking every byte. */
    private static Pump transfer(TcpTestNet net, long bytes, long seed) throws Exception {
        Pump client = new Pump(bytes, seed), server = new Pump(0, seed + 1);
        TcpTestNet.Events le = new TcpTestNet.Events();
        le.childUpcall = server;
        net.b.stack.listen(net.b.at(80), 4, new TcpSocketOptions(), le);
        TcpConnection c = net.a.stack.open(client);
        c.connect(net.b.at(80));
        net.runUntil(() -> client.done() && server.done() || client.error != 0 || server.error != 0, 600 * SECOND);
        assertThat(client.error).isZero();
        assertThat(server.error).isZero();
        assertThat(server.received).isEqualTo(bytes);
        assertThat(server.receivedDigest()).isEqualTo(client.sentDigest());
        return client;
    }

    /** Every super-segment: whole segments, within the device's limit, marked for the device, never SYN or a bare FIN. */
    private static void checkSuperSegments(List<SuperSegment> supers, int mss) {
        assertThat(supers).as("super-segments sent").isNotEmpty();
        for (SuperSegment s : supers) {
            Seg g = s.seg();
            assertThat(s.tsoSize()).as("segment size: the MSS less the options, %s", g).isEqualTo(mss);
            assertThat(g.len()).as("more than one segment: %s", g).isGreaterThan(mss);
            assertThat(20 + g.headerLength() + g.len()).as("fits the device's largest packet").isLessThanOrEqualTo(TSO_MAX);
            assertThat(g.len() % mss == 0 || g.has(Tcp.PSH)).as("whole segments, or the end of the data: %s", g).isTrue();
            assertThat(g.isSyn()).isFalse();
            assertThat(g.has(Tcp.ACK)).isTrue();
            assertThat(s.csumFlags() & Packet.CSUM_PARTIAL).as("checksum left to the device").isNotZero();
            assertThat(s.checksumField()).as("the pseudo-header sum in the checksum field").isEqualTo(s.pseudoHeaderSum());
        }
    }

    @Test void bulkDataLeavesInSuperSegmentsBoundedByTheCongestionWindowAndArrivesWhole() throws Exception {
        try (TcpTestNet net = new TcpTestNet(new TcpConfig(), new TcpConfig(), 11)) {
            net.a.tsoMax = TSO_MAX;
            net.a.out = Impairment.delay(MS);
            net.b.out = Impairment.delay(MS);
            transfer(net, 20_000_000, 5);
            int mss = 1448; // 1460 less the timestamps
            checkSuperSegments(net.a.superSegments, mss);
            assertThat(net.a.count(Stat.TCP_SND_TSO)).isEqualTo(net.a.superSegments.size());
            assertThat(net.a.superSegments.stream().mapToInt(s -> s.seg().len()).max().orElseThrow())
                    .as("some reach the device's limit").isGreaterThan(TSO_MAX - 20 - 32 - mss);
            // The first flight, before B's first ACK of data: no more than the initial window, super-segments or not.
            List<Seg> a = net.sentBy("A");
            Seg firstData = a.stream().filter(s -> s.len() > 0).findFirst().orElseThrow();
            long firstAckTime = net.sentBy("B").stream().filter(s -> s.time() > firstData.time() && s.ack() != firstData.seq())
                    .mapToLong(Seg::time).min().orElseThrow();
            long firstFlight = a.stream().filter(s -> s.time() < firstAckTime + MS).mapToLong(Seg::len).sum();
            assertThat(firstFlight).as("the first flight").isLessThanOrEqualTo((long) new TcpConfig().initialWindow * mss);
            assertThat(a.stream().filter(s -> s.isFin()).allMatch(s -> s.len() <= mss || s.has(Tcp.PSH))).isTrue();
        }
    }

    @Test void retransmissionsStayAtOneSegmentUnderLoss() throws Exception {
        try (TcpTestNet net = new TcpTestNet(new TcpConfig(), new TcpConfig(), 12)) {
            net.a.tsoMax = TSO_MAX;
            net.a.out = Impairment.delay(5 * MS).withLoss(0.01);
            net.b.out = Impairment.delay(5 * MS).withLoss(0.01);
            transfer(net, 10_000_000, 6);
            int mss = 1448;
            checkSuperSegments(net.a.superSegments, mss);
            assertThat(net.a.count(Stat.TCP_SND_REXMIT)).as("losses repaired").isPositive();
            int highest = -1;
            boolean first = true;
            int retransmissions = 0;
            for (Seg s : net.sentBy("A")) {
                if (s.len() == 0) continue;
                if (!first && Seq.lt(s.seq(), highest)) {
                    retransmissions++;
                    assertThat(s.len()).as("a retransmission: %s", s).isLessThanOrEqualTo(mss);
                }
                if (first || Seq.gt(s.seq() + s.len(), highest)) highest = s.seq() + s.len();
                first = false;
            }
            assertThat(retransmissions).isPositive();
        }
    }

    @Test void withoutTheOffloadEverySegmentIsOneMss() throws Exception {
        try (TcpTestNet net = new TcpTestNet(new TcpConfig(), new TcpConfig(), 13)) {
            net.a.out = Impairment.delay(MS);
            net.b.out = Impairment.delay(MS);
            transfer(net, 5_000_000, 7);
            assertThat(net.a.superSegments).isEmpty();
            assertThat(net.a.count(Stat.TCP_SND_TSO)).isZero();
            assertThat(net.sentBy("A")).allMatch(s -> s.len() <= 1448);
        }
    }

    @Test void nagleHoldsTheShortTailOfASuperSegment() throws Exception {
        try (TcpTestNet net = TcpTestNet.withRawPeer(new TcpConfig())) {
            net.a.tsoMax = TSO_MAX;
            RawPeer b = new RawPeer(net).connect(false, true, 7);
            // Something unacknowledged in flight: Nagle holds a short segment until it is acknowledged.
            b.c.write(java.nio.ByteBuffer.wrap(new byte[100]));
            net.runFor(0);
            assertThat(b.received()).hasSize(1);
            b.c.write(java.nio.ByteBuffer.wrap(new byte[3 * 1460 + 500]));
            net.runFor(0);
            List<Seg> out = b.received();
            assertThat(out).as("whole segments go at once, the 500-byte tail waits").hasSize(1);
            assertThat(out.get(0).len()).isEqualTo(3 * 1460);
            assertThat(net.a.superSegments).hasSize(1);
            assertThat(out.get(0).has(Tcp.PSH)).as("PSH only where the data ends").isFalse();
        }
    }
}
