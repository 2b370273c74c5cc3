package org.kextnet.kernel.inet.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.kextnet.kernel.inet.tcp.TcpTestNet.MS;
import static org.kextnet.kernel.inet.tcp.TcpTestNet.SECOND;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.inet.tcp.TcpTestNet.Events;
import org.kextnet.kernel.inet.tcp.TcpTestNet.Seg;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.wire.Tcp;
import org.kextnet.kpi.Errno;

/** Path MTU and ICMP errors, urgent data, data interception, buffer auto-tuning, listings. */
class TcpFeaturesTest {
    private TcpTestNet net;

    @AfterEach void noBuffersLeak() {
        if (net != null) {
            net.close();
            assertThat(net.buffersInUse()).isZero();
        }
    }

    private static List<Seg> data(List<Seg> l) { return l.stream().filter(s -> s.len() > 0).toList(); }

    /** The first 20 bytes of a segment A sent, as an ICMP error quotes them. */
    private static MemorySegment quote(Seg s) {
        MemorySegment q = MemorySegment.ofArray(new byte[20]);
        Tcp.write(q, 0, s.srcPort(), s.dstPort(), s.seq(), s.ack(), 20, s.flags(), s.window(), 0);
        return q;
    }

    private void icmp(TcpNetwork.Error e, int mtu, Seg quoted) {
        net.a.stack.networkError(e, mtu, 0, TcpEndpoint.v4(TcpTestNet.A_IP), 0, TcpEndpoint.v4(TcpTestNet.B_IP), quote(quoted), 0, 20);
    }

    @Test void fragmentationNeededShrinksTheSegmentsInFlightWithoutTouchingTheWindow() throws Exception {
        net = TcpTestNet.withRawPeer(new TcpConfig());
        RawPeer b = new RawPeer(net).connect(true, true, 7);
        b.c.write(ByteBuffer.wrap(new byte[3 * 1448]));
        List<Seg> sent = data(b.received());
        assertThat(sent).hasSize(3).allMatch(s -> s.len() == 1448);
        long cwnd = b.c.info().cwnd();
        icmp(TcpNetwork.Error.FRAGMENTATION_NEEDED, 1000, sent.get(1));
        assertThat(b.c.pathMtu()).isEqualTo(1000);
        assertThat(b.c.mss()).isEqualTo(1000 - 40 - 12);
        List<Seg> again = data(b.received());
        assertThat(again).allMatch(s -> s.len() <= 948);
        assertThat(again.stream().mapToInt(Seg::len).sum()).isEqualTo(3 * 1448); // all of it, in smaller pieces
        assertThat(again.get(0).seq()).isEqualTo(sent.get(0).seq());
        assertThat(b.c.info().cwnd()).as("not congestion (RFC 1191 6.3)").isEqualTo(cwnd);
        assertThat(net.a.count(Stat.TCP_PMTU_CHANGES)).isEqualTo(1);
    }

    @Test void implausibleIcmpMessagesAreIgnored() throws Exception {
        net = TcpTestNet.withRawPeer(new TcpConfig());
        RawPeer b = new RawPeer(net).connect(true, true, 7);
        b.c.write(ByteBuffer.wrap(new byte[1448]));
        Seg s = RawPeer.only(data(b.received()));
        icmp(TcpNetwork.Error.FRAGMENTATION_NEEDED, 1600, s); // larger than the path: never raises it
        icmp(TcpNetwork.Error.FRAGMENTATION_NEEDED, 300, s); // below the floor (RFC 1191 and 5927's advice)
        Seg outside = new Seg("A", 0, s.srcPort(), s.dstPort(), s.flags(), s.seq() + 100_000, s.ack(), s.window(), 0, 20, -1, -1,
                false, false, 0, 0, new int[0], 0, new byte[0]);
        icmp(TcpNetwork.Error.FRAGMENTATION_NEEDED, 1000, outside); // a sequence number not in flight (RFC 5927 4.1)
        icmp(TcpNetwork.Error.PORT_UNREACHABLE, 0, s); // a hard error once established: only noted (RFC 5461)
        assertThat(b.c.pathMtu()).isEqualTo(1500);
        assertThat(b.c.state()).isEqualTo(TcpState.ESTABLISHED);
        assertThat(net.a.count(Stat.TCP_ICMP_IGNORED)).isEqualTo(3);
        assertThat(b.received()).isEmpty();
    }

    @Test void aHardErrorAbortsAConnectionBeingOpenedAndASoftOneIsReportedOnTimeout() throws Exception {
        net = TcpTestNet.withRawPeer(new TcpConfig());
        TcpConnection c = net.a.stack.open(new Events());
        c.connect(net.b.at(80));
        Seg syn = RawPeer.only(net.takeReceivedAfter());
        icmp(TcpNetwork.Error.PORT_UNREACHABLE, 0, syn);
        assertThat(c.state()).isEqualTo(TcpState.CLOSED);
        assertThat(c.error()).isEqualTo(Errno.ECONNREFUSED);
        TcpConnection d = net.a.stack.open(new Events());
        d.connect(net.b.at(80));
        Seg syn2 = RawPeer.only(net.takeReceivedAfter());
        icmp(TcpNetwork.Error.HOST_UNREACHABLE, 0, syn2);
        assertThat(d.state()).isEqualTo(TcpState.SYN_SENT);
        net.runUntil(() -> d.state() == TcpState.CLOSED, 200 * SECOND);
        assertThat(d.error()).as("the soft error explains the timeout (RFC 1122 4.2.3.9)").isEqualTo(Errno.EHOSTUNREACH);
        net.takeReceived();
    }

    @Test void urgentDataIsMarkedAndTakenOutOfBandUnlessInline() throws Exception {
        net = new TcpTestNet();
        TcpStateMachineTest.Pair p = new TcpStateMachineTest.Pair(net);
        p.client.setNoDelay(true);
        p.client.write(ByteBuffer.wrap("abc".getBytes()));
        p.client.writeUrgent(ByteBuffer.wrap("!".getBytes()));
        p.client.write(ByteBuffer.wrap("def".getBytes()));
        net.runUntil(() -> p.server.readable() == 6, SECOND);
        Seg urg = net.sentBy("A").stream().filter(s -> s.has(Tcp.URG)).findFirst().orElseThrow();
        assertThat(urg.seq() + urg.urgent()).as("the pointer follows the urgent byte (RFC 6093)")
                .isEqualTo(net.sentBy("A").stream().filter(s -> s.len() > 0).findFirst().orElseThrow().seq() + 4);
        assertThat(p.serverEvents.saw("urgent")).isTrue();
        assertThat(TcpStateMachineTest.readAll(p.server)).isEqualTo("abc"); // a read stops at the mark
        assertThat(p.server.atUrgentMark()).isTrue();
        assertThat(p.server.readOutOfBand()).isEqualTo('!');
        assertThat(TcpStateMachineTest.readAll(p.server)).isEqualTo("def");
        assertThat(p.server.atUrgentMark()).isFalse();
        // inline: the byte stays in the stream
        p.server.setOobInline(true);
        p.client.write(ByteBuffer.wrap("xy".getBytes()));
        p.client.writeUrgent(ByteBuffer.wrap("#".getBytes()));
        p.client.write(ByteBuffer.wrap("z".getBytes()));
        net.runUntil(() -> p.server.readable() == 4, SECOND);
        assertThat(TcpStateMachineTest.readAll(p.server)).isEqualTo("xy");
        assertThat(p.server.atUrgentMark()).isTrue();
        assertThat(TcpStateMachineTest.readAll(p.server)).isEqualTo("#z");
        assertThat(p.server.readOutOfBand()).isEqualTo(-1);
    }

    /** An upcall that plays a socket filter's data-in. */
    static final class Filter extends Events {
        int verdict;
        boolean upper;
        final List<Packet> held = new ArrayList<>();
        final List<Boolean> lockHeld = new ArrayList<>();

        @Override public int dataIn(TcpConnection c, Packet data, int flags) {
            lockHeld.add(Thread.holdsLock(c.lock));
            if (upper) {
                MemorySegment s = data.segment();
                for (int i = 0; i < data.length(); i++) {
                    byte x = s.get(ValueLayout.JAVA_BYTE, data.offset() + i);
                    s.set(ValueLayout.JAVA_BYTE, data.offset() + i, (byte) Character.toUpperCase(x));
                }
            }
            if (verdict == Errno.EJUSTRETURN) held.add(data);
            return verdict;
        }
    }

    @Test void interceptedDataPassesThroughTheHookInOrderAndMayBeChangedHeldOrDropped() throws Exception {
        net = new TcpTestNet();
        TcpStateMachineTest.Pair p = new TcpStateMachineTest.Pair(net);
        Filter f = new Filter();
        p.server.setUpcall(f);
        p.client.setNoDelay(true);
        p.client.write(ByteBuffer.wrap("before ".getBytes()));
        net.runUntil(() -> p.server.readable() == 7, SECOND);
        p.server.setDataInterception(true);
        f.upper = true;
        p.client.write(ByteBuffer.wrap("shout ".getBytes()));
        net.runUntil(() -> p.server.readable() == 13, SECOND);
        f.upper = false;
        f.verdict = Errno.EJUSTRETURN; // the filter takes the next data and re-injects it later
        p.client.write(ByteBuffer.wrap("held ".getBytes()));
        net.runFor(100 * MS);
        assertThat(f.held).hasSize(1);
        assertThat(p.server.readable()).isEqualTo(13);
        f.verdict = Errno.EPERM; // rejected: dropped
        p.client.write(ByteBuffer.wrap("dropped ".getBytes()));
        net.runFor(100 * MS);
        assertThat(p.server.appendReceived(f.held.remove(0))).isZero();
        f.verdict = 0;
        p.client.write(ByteBuffer.wrap("after".getBytes()));
        net.runFor(100 * MS);
        ByteBuffer all = ByteBuffer.allocate(100);
        p.server.read(all);
        assertThat(new String(all.array(), 0, all.position(), StandardCharsets.US_ASCII)).isEqualTo("before SHOUT held after");
        assertThat(f.lockHeld).as("data-in runs with no TCP lock held").containsOnly(false);
    }

    @Test void theReceiveBufferGrowsForAFastReaderOnALongPathButNotWhenTheUserSetIt() throws Exception {
        net = new TcpTestNet();
        net.a.out = TcpTestNet.Impairment.delay(25 * MS);
        net.b.out = TcpTestNet.Impairment.delay(25 * MS);
        Pump client = new Pump(30_000_000, 1), server = new Pump(0, 2);
        Events le = new Events();
        le.childUpcall = server;
        net.tracing = false;
        net.b.stack.listen(net.b.at(80), 4, new TcpSocketOptions(), le);
        TcpConnection c = net.a.stack.open(client);
        c.connect(net.b.at(80));
        net.runUntil(() -> client.done() && server.done(), 600 * SECOND);
        TcpConnection s = le.accepted.get(0);
        assertThat(s.receiveBuffer()).isGreaterThan(4 * 128 * 1024);
        assertThat(net.b.count(Stat.TCP_RCVBUF_GROWN)).isPositive();
        assertThat(c.sendBuffer()).isGreaterThan(256 * 1024);
        long grownTime = net.now();
        assertThat(server.receivedDigest()).isEqualTo(client.sentDigest());

        TcpSocketOptions fixed = new TcpSocketOptions();
        fixed.receiveBuffer = 128 * 1024;
        Pump client2 = new Pump(30_000_000, 3), server2 = new Pump(0, 4);
        Events le2 = new Events();
        le2.childUpcall = server2;
        net.b.stack.listen(net.b.at(81), 4, fixed, le2);
        TcpConnection c2 = net.a.stack.open(client2);
        long start = net.now();
        c2.connect(net.b.at(81));
        net.runUntil(() -> client2.done() && server2.done(), 3600 * SECOND);
        assertThat(le2.accepted.get(0).receiveBuffer()).isEqualTo(128 * 1024);
        assertThat(net.now() - start).as("a fixed 128 KiB window is slower on a 50 ms path")
                .isGreaterThan(2 * (grownTime - SECOND));
    }

    @Test void theListingShowsEveryConnectionWithItsState() throws Exception {
        net = new TcpTestNet();
        TcpStateMachineTest.Pair p = new TcpStateMachineTest.Pair(net);
        p.client.write(ByteBuffer.wrap(new byte[100]));
        net.runFor(100 * MS);
        List<TcpInfo> b = net.b.stack.connections();
        assertThat(b).hasSize(1);
        TcpInfo i = b.get(0);
        assertThat(i.state()).isEqualTo(TcpState.ESTABLISHED);
        assertThat(i.local()).isEqualTo(net.b.at(80));
        assertThat(i.remote()).isEqualTo(p.client.local());
        assertThat(i.receiveQueue()).isEqualTo(100);
        assertThat(i.congestionControl()).isEqualTo("cubic");
        assertThat(i.format()).contains("10.0.0.2:80", "ESTABLISHED", "cubic");
        assertThat(net.b.stack.listeners()).containsExactly(net.b.at(80));
        assertThat(net.a.stack.connections().get(0).bytesSent()).isEqualTo(100);
    }

    /** RFC 7661: a flight of at least half the window validates it, even when the application had no more to send. */
    @Test void aFlightOfHalfTheWindowOrMoreGrowsItThoughNothingMoreWaits() throws Exception {
        TcpConfig cfg = new TcpConfig();
        cfg.congestionControl = "newreno";
        net = TcpTestNet.withRawPeer(cfg);
        RawPeer b = new RawPeer(net).connect(true, true, 0);
        int smss = b.c.mss();
        b.c.write(ByteBuffer.wrap(new byte[10 * smss])); // exactly the initial window
        List<Seg> flight = data(b.received());
        assertThat(flight).hasSize(10);
        for (Seg s : flight) net.inject(b.seg(Tcp.ACK).ack(s.end())); // one ACK per segment
        net.runFor(0);
        assertThat(b.c.info().cwnd()).isEqualTo(20L * smss); // slow start: one SMSS per SMSS acknowledged

        b.c.write(ByteBuffer.wrap(new byte[9 * smss])); // under half of the window: application-limited
        List<Seg> small = data(b.received());
        assertThat(small).hasSize(9);
        for (Seg s : small) net.inject(b.seg(Tcp.ACK).ack(s.end()));
        net.runFor(0);
        assertThat(b.c.info().cwnd()).as("a window the application uses less than half of does not grow").isEqualTo(20L * smss);

        b.c.write(ByteBuffer.wrap(new byte[10 * smss])); // half of it: validated, until cwnd passes twice the flight
        for (Seg s : data(b.received())) net.inject(b.seg(Tcp.ACK).ack(s.end()));
        net.runFor(0);
        assertThat(b.c.info().cwnd()).isEqualTo(21L * smss);
    }

    @Test void dataReceivedBeforeAResetIsReadBeforeTheError() throws Exception {
        net = TcpTestNet.withRawPeer(new TcpConfig());
        RawPeer b = new RawPeer(net).connect(true, true, 7);
        b.send("last words".getBytes());
        net.inject(b.seg(Tcp.RST).ack(0));
        assertThat(b.c.state()).isEqualTo(TcpState.CLOSED);
        assertThat(TcpStateMachineTest.readAll(b.c)).isEqualTo("last words");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> b.c.read(ByteBuffer.allocate(10)))
                .extracting(e -> ((TcpException) e).errno()).isEqualTo(Errno.ECONNRESET);
        assertThat(b.c.read(ByteBuffer.allocate(10))).isEqualTo(-1);
        net.takeReceivedAfter();
    }
}
