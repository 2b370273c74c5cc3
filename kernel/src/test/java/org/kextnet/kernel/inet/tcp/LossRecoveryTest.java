package org.kextnet.kernel.inet.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.kextnet.kernel.inet.tcp.TcpTestNet.MS;
import static org.kextnet.kernel.inet.tcp.TcpTestNet.SECOND;

import java.nio.ByteBuffer;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.inet.tcp.TcpTestNet.Seg;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.wire.Tcp;

/**
 * Loss detection and recovery against a scripted receiver: which ranges are retransmitted when (RFC 6675 with
 * RACK or DupThresh, RFC 6582 without SACK), D-SACK and undo, the RTO's backoff and Karn's rule, TLP.
 */
class LossRecoveryTest {
    static final int SEG = 1448;
    private TcpTestNet net;

    @AfterEach void noBuffersLeak() {
        if (net != null) {
            net.close();
            assertThat(net.buffersInUse()).isZero();
        }
    }

    /** A connected to the raw peer with a measured RTT of {@code rtt}, then {@code n} full segments written. */
    private RawPeer sending(TcpConfig cfg, boolean sack, boolean ts, long rtt, int n) throws Exception {
        net = TcpTestNet.withRawPeer(cfg);
        RawPeer b = connectWithRtt(new RawPeer(net), sack, ts, rtt);
        b.c.write(ByteBuffer.wrap(new byte[n * SEG]));
        return b;
    }

    private RawPeer connectWithRtt(RawPeer b, boolean sack, boolean ts, long rtt) throws Exception {
        b.c = net.a.stack.open(b.events);
        b.c.connect(net.b.at(80));
        net.runFor(rtt);
        Seg syn = RawPeer.only(net.takeReceived());
        b.aPort = syn.srcPort();
        b.aIss = syn.seq();
        b.rcv = b.aIss + 1;
        b.snd = RawPeer.B_ISS;
        b.ts = ts;
        b.lastTsFromA = syn.tsVal();
        Seg.Builder sa = Seg.of(Tcp.SYN | Tcp.ACK).ports(80, b.aPort).seq(b.snd).ack(b.rcv).window(65535).mss(1460).wscale(7);
        if (sack) sa.sackPermitted();
        if (ts) sa.ts(b.tsVal, b.lastTsFromA);
        net.inject(sa);
        b.snd++;
        b.received(); // the ACK
        return b;
    }

    /** The data segments A sent, in order. */
    private static List<Seg> data(List<Seg> l) { return l.stream().filter(s -> s.len() > 0).toList(); }

    @Test void sackRecoveryRetransmitsExactlyTheHolesAtOnce() throws Exception {
        RawPeer b = sending(new TcpConfig(), true, true, 20 * MS, 10);
        List<Seg> sent = data(b.received());
        assertThat(sent).hasSize(10); // the initial window
        int s0 = sent.get(0).seq();
        net.runFor(20 * MS);
        // segments 3 and 6 (0-based 2 and 5) are lost
        net.inject(b.seg(Tcp.ACK).ack(s0 + 2 * SEG).window(1 << 10).sack(s0 + 3 * SEG, s0 + 5 * SEG, s0 + 6 * SEG, s0 + 10 * SEG));
        List<Seg> rexmit = data(b.received());
        assertThat(rexmit).extracting(Seg::seq).startsWith(s0 + 2 * SEG, s0 + 5 * SEG);
        assertThat(rexmit.subList(0, 2)).allMatch(s -> s.len() == SEG);
        assertThat(net.a.count(Stat.TCP_RECOVERY)).isEqualTo(1);
        assertThat(net.a.count(Stat.TCP_SND_REXMIT)).isEqualTo(2);
        assertThat(b.c.info().inRecovery()).isTrue();
        // both holes repaired: recovery ends, nothing more is retransmitted
        net.inject(b.seg(Tcp.ACK).ack(s0 + 10 * SEG).window(1 << 10));
        b.received();
        assertThat(b.c.info().inRecovery()).isFalse();
        assertThat(net.a.count(Stat.TCP_SND_REXMIT)).isEqualTo(2);
    }

    @Test void withoutRackTheDupThreshRuleWaitsForThreeSackedSegments() throws Exception {
        TcpConfig cfg = new TcpConfig();
        cfg.rack = false;
        RawPeer b = sending(cfg, true, true, 20 * MS, 10);
        int s0 = data(b.received()).get(0).seq();
        net.runFor(20 * MS);
        int hole = s0 + 2 * SEG;
        for (int k = 1; k <= 3; k++) {
            net.inject(b.seg(Tcp.ACK).ack(hole).window(1 << 10).sack(hole + SEG, hole + SEG + k * SEG));
            List<Seg> out = data(b.received());
            if (k < 3) {
                assertThat(out).as("after %d SACKed segments", k).noneMatch(s -> s.seq() == hole);
            } else {
                assertThat(out.get(0).seq()).as("IsLost(hole) with DupThresh SACKed segments above (RFC 6675 4)").isEqualTo(hole);
            }
        }
        assertThat(net.a.count(Stat.TCP_SND_REXMIT)).isEqualTo(1);
    }

    @Test void rackWaitsAQuarterRttBeforeItCallsAFewSackedSegmentsALoss() throws Exception {
        RawPeer b = sending(new TcpConfig(), true, true, 40 * MS, 10);
        int s0 = data(b.received()).get(0).seq();
        net.runFor(40 * MS);
        net.inject(b.seg(Tcp.ACK).ack(s0).window(1 << 10).sack(s0 + SEG, s0 + 2 * SEG)); // one SACKed segment
        assertThat(data(b.received())).noneMatch(s -> s.seq() == s0);
        List<Seg> later = data(b.receivedWithin(15 * MS)); // RACK reordering window: min RTT / 4 = 10 ms
        assertThat(later).extracting(Seg::seq).startsWith(s0);
        assertThat(later.get(0).time() - net.trace.stream().filter(s -> s.from().equals("B")).toList().getLast().time())
                .isBetween(9 * MS, 12 * MS);
    }

    @Test void newRenoWithoutSackRetransmitsOnTheThirdDupAckAndOnEachPartialAck() throws Exception {
        TcpConfig cfg = new TcpConfig();
        cfg.sack = false;
        RawPeer b = sending(cfg, false, true, 20 * MS, 10);
        int s0 = data(b.received()).get(0).seq();
        net.runFor(20 * MS);
        int h1 = s0 + 2 * SEG, h2 = s0 + 5 * SEG;
        net.inject(b.seg(Tcp.ACK).ack(h1).window(1 << 10));
        for (int k = 1; k <= 3; k++) {
            net.inject(b.seg(Tcp.ACK).ack(h1).window(1 << 10));
            List<Seg> out = data(b.received());
            if (k < 3) assertThat(out).noneMatch(s -> s.seq() == h1);
            else assertThat(out).extracting(Seg::seq).contains(h1);
        }
        // the partial ACK up to the second hole retransmits it at once (RFC 6582 3.2 step 4)
        net.inject(b.seg(Tcp.ACK).ack(h2).window(1 << 10));
        assertThat(data(b.received())).extracting(Seg::seq).contains(h2);
        assertThat(b.c.info().inRecovery()).isTrue();
        long beforeEnd = b.c.info().cwnd();
        net.inject(b.seg(Tcp.ACK).ack(s0 + 10 * SEG).window(1 << 10));
        b.received();
        assertThat(b.c.info().inRecovery()).isFalse();
        assertThat(net.a.count(Stat.TCP_SND_REXMIT)).isEqualTo(2);
        assertThat(b.c.info().cwnd()).isLessThanOrEqualTo(Math.max(beforeEnd, b.c.info().ssthresh()));
    }

    @Test void aDsackForEveryRetransmissionUndoesTheWindowReduction() throws Exception {
        RawPeer b = sending(new TcpConfig(), true, true, 20 * MS, 10);
        Seg first = data(b.received()).get(0);
        int s0 = first.seq(), sent0Ts = first.tsVal();
        net.runFor(20 * MS);
        long cwndBefore = b.c.info().cwnd();
        net.inject(b.seg(Tcp.ACK).ack(s0).window(1 << 10).sack(s0 + SEG, s0 + 5 * SEG)); // looks like a loss of s0
        assertThat(data(b.received())).extracting(Seg::seq).startsWith(s0);
        assertThat(b.c.info().cwnd()).isLessThan(cwndBefore);
        // it was only late: the original arrives (the ACK echoes its timestamp, RFC 7323 4.3), then the
        // retransmission, which the receiver D-SACKs
        int originalTs = sent0Ts;
        net.inject(b.seg(Tcp.ACK).ack(s0 + 5 * SEG).window(1 << 10).ts(++b.tsVal, originalTs));
        net.inject(b.seg(Tcp.ACK).ack(s0 + 5 * SEG).window(1 << 10).ts(++b.tsVal, originalTs).sack(s0, s0 + SEG));
        assertThat(data(b.received())).as("nothing else is retransmitted").isEmpty();
        assertThat(net.a.count(Stat.TCP_DSACK_RCVD)).isEqualTo(1);
        assertThat(net.a.count(Stat.TCP_UNDO)).isEqualTo(1);
        assertThat(b.c.info().cwnd()).isGreaterThanOrEqualTo(cwndBefore);
    }

    @Test void theReceiverReportsTheLatestBlockFirstAndDsacksDuplicates() throws Exception {
        net = TcpTestNet.withRawPeer(new TcpConfig());
        RawPeer b = new RawPeer(net).connect(true, true, 7);
        int base = b.snd;
        byte[] x = new byte[100];
        for (int off : new int[] {1000, 3000, 2000}) {
            net.inject(b.seg(Tcp.ACK).seq(base + off).data(x));
        }
        List<Seg> acks = b.received();
        assertThat(acks).hasSize(3).allMatch(s -> s.ack() == base); // out-of-order data is acknowledged at once
        assertThat(acks.get(2).sack()).containsExactly(base + 2000, base + 2100, base + 3000, base + 3100, base + 1000, base + 1100);
        net.inject(b.seg(Tcp.ACK).seq(base + 3000).data(x)); // a duplicate of held data: D-SACK, then its block
        assertThat(RawPeer.only(b.received()).sack()).startsWith(base + 3000, base + 3100, base + 3000, base + 3100);
        net.inject(b.seg(Tcp.ACK).seq(base).data(new byte[1000])); // fills the first hole
        Seg ack = RawPeer.only(b.received());
        assertThat(ack.ack()).isEqualTo(base + 1100);
        assertThat(ack.sack()).as("most recently reported first (RFC 2018 4)").containsExactly(base + 3000, base + 3100, base + 2000, base + 2100);
    }

    @Test void theRtoBacksOffAndKarnKeepsItBackedOffUntilANewSample() throws Exception {
        RawPeer b = sending(new TcpConfig(), false, false, 100 * MS, 1); // no timestamps: Karn's rule alone
        Seg first = RawPeer.only(data(b.received()));
        assertThat(b.c.rtoForTests()).isEqualTo(300 * MS); // SRTT 100 ms, RTTVAR 50 ms: 100 + 4 * 50
        List<Seg> rexmit = data(b.receivedWithin(5 * SECOND));
        assertThat(rexmit).extracting(s -> (s.time() - first.time()) / MS).containsExactly(300L, 900L, 2100L, 4500L);
        assertThat(rexmit).allMatch(s -> s.seq() == first.seq() && s.len() == SEG);
        assertThat(b.c.info().cwnd()).isEqualTo(b.c.mss()); // the loss window
        assertThat(net.a.count(Stat.TCP_RTO)).isEqualTo(4);
        net.inject(b.seg(Tcp.ACK).ack(first.seq() + SEG)); // acknowledges a retransmitted segment: no sample
        assertThat(b.c.backoffForTests()).isEqualTo(4);
        b.c.write(ByteBuffer.wrap(new byte[SEG]));
        Seg next = RawPeer.only(data(b.received()));
        net.runFor(100 * MS);
        net.inject(b.seg(Tcp.ACK).ack(next.seq() + SEG)); // a segment sent once: a valid sample, the backoff ends
        assertThat(b.c.backoffForTests()).isZero();
        assertThat(b.c.rtoForTests()).isEqualTo(250 * MS); // RTTVAR 37.5 ms
    }

    @Test void aTailLossProbeResendsTheLastSegmentBeforeTheRto() throws Exception {
        RawPeer b = sending(new TcpConfig(), true, true, 300 * MS, 3); // SRTT 300 ms, RTO 900 ms
        List<Seg> sent = data(b.received());
        int s0 = sent.get(0).seq();
        net.runFor(300 * MS);
        net.inject(b.seg(Tcp.ACK).ack(s0 + 2 * SEG).window(1 << 10)); // the last one is lost, nothing follows it
        long acked = net.now();
        TcpInfo i = b.c.info();
        // PTO = 2 SRTT + the worst delayed ACK for a single segment in flight, capped at the RTO (RFC 8985 7.2)
        long pto = Math.min(2 * i.srtt() + 200 * MS, i.rto());
        List<Seg> probe = data(b.receivedWithin(pto + 10 * MS));
        assertThat(probe).hasSize(1);
        assertThat(probe.get(0).seq()).isEqualTo(s0 + 2 * SEG);
        // PTO = 2 SRTT + the worst delayed ACK for a single segment in flight (RFC 8985 7.2); sooner than the RTO
        assertThat(probe.get(0).time() - acked).isBetween(pto, pto + MS); // the wheel rounds up to its 1 ms tick
        assertThat(net.a.count(Stat.TCP_TLP)).isEqualTo(1);
        assertThat(net.a.count(Stat.TCP_RTO)).isZero();
        long cwnd = b.c.info().cwnd();
        net.inject(b.seg(Tcp.ACK).ack(s0 + 3 * SEG).window(1 << 10)); // the probe repaired a real loss
        assertThat(b.c.info().cwnd()).as("TLP loss response (RFC 8985 7.4)").isLessThan(cwnd);
    }

    @Test void anRtoDuringRecoveryRetransmitsFromTheFirstHoleWithTheLossWindow() throws Exception {
        RawPeer b = sending(new TcpConfig(), true, true, 20 * MS, 10);
        int s0 = data(b.received()).get(0).seq();
        net.runFor(20 * MS);
        net.inject(b.seg(Tcp.ACK).ack(s0).window(1 << 10).sack(s0 + 4 * SEG, s0 + 10 * SEG));
        b.received(); // the holes go out once, then everything is lost again
        List<Seg> after = data(b.receivedWithin(2 * SECOND));
        assertThat(net.a.count(Stat.TCP_RTO)).isGreaterThanOrEqualTo(1);
        assertThat(after.get(0).seq()).isEqualTo(s0);
        assertThat(b.c.info().ssthresh()).isLessThan(Long.MAX_VALUE);
    }
}
