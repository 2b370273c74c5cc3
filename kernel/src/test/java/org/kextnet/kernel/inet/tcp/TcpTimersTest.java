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
import org.kextnet.kpi.Errno;

/** Zero windows and the persist timer, keepalive, delayed ACKs, Nagle, window updates. */
class TcpTimersTest {
    private TcpTestNet net;

    @AfterEach void noBuffersLeak() {
        if (net != null) {
            net.close();
            assertThat(net.buffersInUse()).isZero();
        }
    }

    private RawPeer connected() throws Exception {
        net = TcpTestNet.withRawPeer(new TcpConfig());
        return new RawPeer(net).connect(true, true, 0);
    }

    private static List<Seg> data(List<Seg> l) { return l.stream().filter(s -> s.len() > 0).toList(); }

    @Test void aZeroWindowIsProbedWithOneByteAtBackedOffIntervalsForAsLongAsThePeerAnswers() throws Exception {
        RawPeer b = connected();
        b.window = 0;
        net.inject(b.seg(Tcp.ACK)); // the window closes before any data goes out
        b.c.write(ByteBuffer.wrap(new byte[5000]));
        assertThat(b.received()).isEmpty();
        int una = b.rcv;
        long start = net.now();
        long[] expected = {200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000};
        long t = 0;
        for (int i = 0; i < 20; i++) {
            List<Seg> probes = data(b.next(61 * SECOND));
            assertThat(probes).as("probe %d", i).isNotEmpty();
            Seg p = probes.get(0);
            assertThat(p.len()).isEqualTo(1);
            assertThat(p.seq()).isEqualTo(una); // the same octet of new data again (RFC 9293 3.8.6.1)
            if (i < expected.length) {
                t += expected[i] * MS;
                assertThat(p.time() - start).as("probe %d", i).isBetween(t, t + 2 * MS);
            }
            start = p.time();
            t = 0;
            b.rcv = una; // the probe byte is not accepted
            net.inject(b.seg(Tcp.ACK)); // still zero
        }
        assertThat(b.c.state()).as("probing goes on while the peer answers (RFC 1122 4.2.2.17)").isEqualTo(TcpState.ESTABLISHED);
        assertThat(net.a.count(Stat.TCP_SND_PROBES)).isEqualTo(20);
        b.window = 65535;
        net.inject(b.seg(Tcp.ACK)); // the window opens: the probe's octet again, then the rest at once
        List<Seg> flow = data(b.received());
        assertThat(flow.get(0).seq()).isEqualTo(una);
        assertThat(flow).extracting(Seg::len).containsExactly(1, 1448, 1448, 1448); // Nagle holds the last 655
        net.inject(b.seg(Tcp.ACK).ack(b.rcv));
        assertThat(data(b.received())).extracting(Seg::len).containsExactly(655);
    }

    @Test void whileAProbeOctetIsOutItsAcksCarryASequenceNumberAZeroWindowAccepts() throws Exception {
        RawPeer b = connected();
        b.window = 0;
        net.inject(b.seg(Tcp.ACK));
        b.c.write(ByteBuffer.wrap(new byte[5000]));
        int una = b.rcv;
        Seg probe = data(b.next(SECOND)).get(0);
        assertThat(probe.seq()).isEqualTo(una);
        b.rcv = una; // B's window is zero too: the probe's octet is not taken
        // B sends data (its own probe): A's ACK of it must sit at B's RCV.NXT, not one past the probe's octet, or B,
        // with no window, drops it as unacceptable and never learns what A acknowledged or offers.
        b.send(new byte[1]);
        Seg ack = b.receivedWithin(100 * MS).stream().filter(Seg::isPureAck).findFirst().orElseThrow(); // before the next probe
        assertThat(ack.ack()).isEqualTo(b.snd);
        assertThat(ack.seq()).as("the sequence number of A's ACK").isEqualTo(una);
        b.window = 65535;
        net.inject(b.seg(Tcp.ACK)); // B's window opens: the probe's octet again, then the rest
        assertThat(data(b.received()).get(0).seq()).isEqualTo(una);
    }

    @Test void aSilentPeerBehindAZeroWindowIsGivenUpOn() throws Exception {
        RawPeer b = connected();
        b.window = 0;
        net.inject(b.seg(Tcp.ACK));
        b.c.write(ByteBuffer.wrap(new byte[100]));
        net.runUntil(() -> b.c.state() == TcpState.CLOSED, 3600 * SECOND);
        assertThat(b.c.error()).isEqualTo(Errno.ETIMEDOUT);
        net.takeReceived();
    }

    @Test void keepaliveProbesAnIdleConnectionAndDropsOneThatNeverAnswers() throws Exception {
        RawPeer b = connected();
        b.c.setKeepAlive(true, 10 * SECOND, SECOND, 3);
        long idle = net.now();
        List<Seg> probes = b.receivedWithin(13 * SECOND + 500 * MS);
        assertThat(probes).hasSize(4); // three probes, then the reset
        for (int i = 0; i < 3; i++) {
            Seg p = probes.get(i);
            assertThat(p.seq()).isEqualTo(b.rcv - 1); // <SEQ=SND.UNA-1>: the peer must answer
            assertThat(p.len()).isZero();
            assertThat(p.time() - idle).isEqualTo(10 * SECOND + i * SECOND);
        }
        assertThat(probes.get(3).isRst()).isTrue();
        assertThat(b.c.error()).isEqualTo(Errno.ETIMEDOUT);
        assertThat(net.a.count(Stat.TCP_KEEP_DROPS)).isEqualTo(1);
    }

    @Test void anAnsweredKeepaliveKeepsTheConnection() throws Exception {
        RawPeer b = connected();
        b.c.setKeepAlive(true, 10 * SECOND, SECOND, 3);
        for (int i = 0; i < 5; i++) {
            Seg p = RawPeer.only(b.receivedWithin(10 * SECOND + 10 * MS));
            assertThat(p.seq()).isEqualTo(b.rcv - 1);
            net.inject(b.seg(Tcp.ACK));
        }
        assertThat(b.c.state()).isEqualTo(TcpState.ESTABLISHED);
        assertThat(net.a.count(Stat.TCP_KEEP_PROBES)).isEqualTo(5);
    }

    @Test void oneSegmentIsAcknowledgedAfterTheDelayAndTwoAtOnce() throws Exception {
        RawPeer b = connected();
        b.send(new byte[1448]);
        assertThat(b.received()).isEmpty();
        Seg late = RawPeer.only(b.receivedWithin(100 * MS));
        assertThat(late.time() - net.trace.stream().filter(s -> s.from().equals("B")).toList().getLast().time()).isEqualTo(40 * MS);
        assertThat(net.a.count(Stat.TCP_SND_DELAYED_ACKS)).isEqualTo(1);
        b.send(new byte[1448]);
        b.send(new byte[1448]);
        Seg now = RawPeer.only(b.received()); // every second full-sized segment (RFC 9293 3.8.6.3)
        assertThat(now.ack()).isEqualTo(b.snd);
        net.inject(b.seg(Tcp.ACK).seq(b.snd + 1448).data(new byte[100])); // out of order: at once (RFC 5681 4.2)
        assertThat(RawPeer.only(b.received()).ack()).isEqualTo(b.snd);
        b.send(new byte[1448]); // fills the hole: at once
        assertThat(RawPeer.only(b.received()).ack()).isEqualTo(b.snd + 100);
    }

    @Test void nagleHoldsASmallSegmentWhileDataIsUnacknowledged() throws Exception {
        RawPeer b = connected();
        b.c.write(ByteBuffer.wrap(new byte[10]));
        assertThat(data(b.received())).hasSize(1);
        b.c.write(ByteBuffer.wrap(new byte[10]));
        b.c.write(ByteBuffer.wrap(new byte[10]));
        assertThat(data(b.received())).as("held: the first is not acknowledged").isEmpty();
        b.c.write(ByteBuffer.wrap(new byte[3000])); // a full segment goes out regardless
        List<Seg> full = data(b.received());
        assertThat(full).extracting(Seg::len).containsExactly(1448, 1448);
        net.inject(b.seg(Tcp.ACK).ack(b.rcv)); // everything acknowledged: the rest goes
        assertThat(data(b.received())).extracting(Seg::len).containsExactly(3030 - 10 - 2 * 1448);
    }

    @Test void noDelaySendsSmallSegmentsAtOnce() throws Exception {
        RawPeer b = connected();
        b.c.setNoDelay(true);
        for (int i = 0; i < 3; i++) b.c.write(ByteBuffer.wrap(new byte[10]));
        assertThat(data(b.received())).hasSize(3).allMatch(s -> s.len() == 10);
    }

    /** A connected to the raw peer with an 8 KiB receive buffer (so no window scaling), no timestamps. */
    private RawPeer smallReceiver() throws Exception {
        net = TcpTestNet.withRawPeer(new TcpConfig());
        RawPeer b = new RawPeer(net);
        TcpSocketOptions o = new TcpSocketOptions();
        o.receiveBuffer = 8192;
        b.c = net.a.stack.open(b.events, o);
        b.c.connect(net.b.at(80));
        Seg syn = RawPeer.only(net.takeReceivedAfter());
        assertThat(syn.wscale()).isZero();
        assertThat(syn.window()).isEqualTo(8192);
        b.aPort = syn.srcPort();
        b.rcv = syn.seq() + 1;
        b.snd = RawPeer.B_ISS;
        net.inject(Seg.of(Tcp.SYN | Tcp.ACK).ports(80, b.aPort).seq(b.snd).ack(b.rcv).mss(1460));
        b.snd++;
        b.received();
        return b;
    }

    @Test void readingAFullBufferSendsAWindowUpdate() throws Exception {
        RawPeer b = smallReceiver();
        TcpConnection c = b.c;
        for (int i = 0; i < 5; i++) b.send(new byte[i < 4 ? 1448 : 8192 - 4 * 1448]);
        List<Seg> acks = b.receivedWithin(100 * MS);
        assertThat(acks.getLast().window()).as("the buffer is full").isZero();
        c.read(ByteBuffer.allocate(8192));
        Seg update = RawPeer.only(b.received());
        assertThat(update.window()).isEqualTo(8192);
        assertThat(update.ack()).isEqualTo(b.snd);
        assertThat(net.a.count(Stat.TCP_SND_WINDOW_UPDATES)).isEqualTo(1);
    }

    @Test void theReceiverOpensTheWindowOnlyInUsefulSteps() throws Exception {
        RawPeer b = smallReceiver();
        TcpConnection c = b.c;
        b.send(new byte[8192]);
        assertThat(b.receivedWithin(100 * MS).getLast().window()).isZero();
        c.read(ByteBuffer.allocate(100)); // 100 bytes free: too little to offer (receiver SWS avoidance)
        assertThat(b.received()).isEmpty();
        net.inject(b.seg(Tcp.ACK).data(new byte[1])); // a window probe gets the window as it stands
        Seg reply = RawPeer.only(b.received());
        assertThat(reply.window()).isZero();
        assertThat(reply.ack()).isEqualTo(b.snd);
    }
}
