package org.kextnet.kernel.inet.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.kextnet.kernel.inet.tcp.TcpTestNet.MS;
import static org.kextnet.kernel.inet.tcp.TcpTestNet.SECOND;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.inet.tcp.TcpTestNet.Events;
import org.kextnet.kernel.inet.tcp.TcpTestNet.Seg;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.wire.Tcp;
import org.kextnet.kpi.Errno;

/** The RFC 9293 state machine, state by state, between two stacks and against a scripted peer. */
class TcpStateMachineTest {
    /** A connection between A (client) and B (server, listening on 80). */
    static final class Pair {
        final TcpTestNet net;
        final Events clientEvents = new Events(), serverEvents = new Events();
        final TcpListener listener;
        final TcpConnection client;
        TcpConnection server;

        Pair(TcpTestNet net) throws TcpException {
            this.net = net;
            listener = net.b.stack.listen(net.b.at(80), 16, new TcpSocketOptions(), serverEvents);
            client = net.a.stack.open(clientEvents);
            client.connect(net.b.at(80));
            net.runUntil(() -> !serverEvents.accepted.isEmpty() && client.state() == TcpState.ESTABLISHED, 10 * SECOND);
            server = serverEvents.accepted.get(0);
        }
    }

    static byte[] bytes(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    static String readAll(TcpConnection c) throws TcpException {
        ByteBuffer b = ByteBuffer.allocate(1 << 16);
        int n = c.read(b);
        return n <= 0 ? "" : new String(b.array(), 0, n, StandardCharsets.UTF_8);
    }

    private TcpTestNet net;

    @AfterEach void noBuffersLeak() {
        if (net != null) {
            net.close();
            assertThat(net.buffersInUse()).as("packet buffers still in use").isZero();
        }
    }

    @Nested class Opening {
        @Test void theHandshakeNegotiatesMssWindowScaleSackAndTimestamps() throws Exception {
            net = new TcpTestNet();
            Pair p = new Pair(net);
            List<Seg> a = net.sentBy("A"), b = net.sentBy("B");
            Seg syn = a.get(0), synAck = b.get(0);
            assertThat(syn.isSyn()).isTrue();
            assertThat(syn.has(Tcp.ACK)).isFalse();
            assertThat(syn.mss()).isEqualTo(1460);
            assertThat(syn.wscale()).isEqualTo(7); // 6 MiB auto-tuning ceiling: 6 MiB >> 7 fits 16 bits
            assertThat(syn.sackPermitted()).isTrue();
            assertThat(syn.ts()).isTrue();
            assertThat(syn.tsEcr()).isZero();
            assertThat(syn.headerLength()).as("every option in 20 bytes").isEqualTo(Tcp.MIN_HEADER + 20);
            assertThat(synAck.headerLength()).isEqualTo(Tcp.MIN_HEADER + 20);
            assertThat(synAck.has(Tcp.SYN | Tcp.ACK)).isTrue();
            assertThat(synAck.ack()).isEqualTo(syn.seq() + 1);
            assertThat(synAck.tsEcr()).isEqualTo(syn.tsVal());
            assertThat(synAck.window()).isEqualTo(65535); // never scaled in a SYN
            Seg ack = a.get(1);
            assertThat(ack.isPureAck()).isTrue();
            assertThat(ack.ack()).isEqualTo(synAck.seq() + 1);
            assertThat(ack.window()).isEqualTo(128 * 1024 >> 7); // scaled from here on
            TcpInfo ci = p.client.info();
            assertThat(ci.sack()).isTrue();
            assertThat(ci.timestamps()).isTrue();
            assertThat(ci.sendScale()).isEqualTo(7);
            assertThat(ci.mss()).isEqualTo(1460 - 12); // less the timestamp option
            assertThat(p.clientEvents.log).startsWith("connecting", "connected,writable");
            assertThat(net.a.count(Stat.TCP_CONNECTS)).isEqualTo(1);
            assertThat(net.b.count(Stat.TCP_ACCEPTS)).isEqualTo(1);
        }

        @Test void aPeerWithoutOptionsGetsNone() throws Exception {
            TcpConfig plain = new TcpConfig();
            plain.sack = false;
            plain.timestamps = false;
            plain.windowScaling = false;
            net = new TcpTestNet(new TcpConfig(), plain, 1);
            Pair p = new Pair(net);
            Seg synAck = net.sentBy("B").get(0);
            assertThat(synAck.wscale()).isEqualTo(-1);
            assertThat(synAck.sackPermitted()).isFalse();
            assertThat(synAck.ts()).isFalse();
            TcpInfo ci = p.client.info();
            assertThat(ci.sack()).isFalse();
            assertThat(ci.timestamps()).isFalse();
            assertThat(ci.sendScale()).isZero();
            assertThat(ci.receiveScale()).isZero();
            assertThat(ci.mss()).isEqualTo(1460);
            assertThat(net.sentBy("A").get(1).window()).isEqualTo(65535); // unscaled, capped
        }

        @Test void aReceiveBufferSetBeforeConnectingIsTheWindowOfferedEvenBelowTheDefault() throws Exception {
            net = new TcpTestNet();
            net.b.stack.listen(net.b.at(80), 16, new TcpSocketOptions(), new Events());
            TcpConnection client = net.a.stack.open(new Events());
            client.setReceiveBuffer(20_000);
            assertThat(client.receiveBuffer()).isEqualTo(20_000);
            client.connect(net.b.at(80));
            net.runUntil(() -> client.state() == TcpState.ESTABLISHED, SECOND);
            assertThat(client.receiveBuffer()).isEqualTo(20_000);
            assertThat(net.sentBy("A").get(0).wscale()).isZero(); // 20 000 bytes need no scaling
            assertThat(net.sentBy("A").get(1).window()).isEqualTo(20_000);
        }

        @Test void theMssFollowsTheRouteMtuAndThePeersOption() throws Exception {
            net = new TcpTestNet();
            net.a.mtu = 9000;
            net.b.mtu = 1280;
            Pair p = new Pair(net);
            assertThat(net.sentBy("A").get(0).mss()).isEqualTo(8960);
            assertThat(net.sentBy("B").get(0).mss()).isEqualTo(1240);
            assertThat(p.client.mss()).isEqualTo(1240 - 12);
            assertThat(p.server.mss()).isEqualTo(1240 - 12); // its own route's MTU bounds it too
        }

        @Test void simultaneousOpenEstablishesBothEnds() throws Exception {
            net = new TcpTestNet();
            net.a.out = TcpTestNet.Impairment.delay(10 * MS); // the SYNs cross on the wire
            net.b.out = TcpTestNet.Impairment.delay(10 * MS);
            Events ea = new Events(), eb = new Events();
            TcpConnection a = net.a.stack.open(ea), b = net.b.stack.open(eb);
            a.bind(net.a.at(5000));
            b.bind(net.b.at(6000));
            a.connect(net.b.at(6000));
            b.connect(net.a.at(5000));
            net.runUntil(() -> a.state() == TcpState.ESTABLISHED && b.state() == TcpState.ESTABLISHED, 5 * SECOND);
            List<Seg> fromA = net.sentBy("A");
            assertThat(fromA.get(0).isSyn()).isTrue();
            assertThat(fromA.get(0).has(Tcp.ACK)).isFalse();
            assertThat(fromA.get(1).has(Tcp.SYN | Tcp.ACK)).as("SYN-ACK with the same ISS (RFC 9293 figure 8)").isTrue();
            assertThat(fromA.get(1).seq()).isEqualTo(fromA.get(0).seq());
            a.write(ByteBuffer.wrap(bytes("ping")));
            b.write(ByteBuffer.wrap(bytes("pong")));
            net.runUntil(() -> a.readable() == 4 && b.readable() == 4, SECOND);
            assertThat(readAll(b)).isEqualTo("ping");
            assertThat(readAll(a)).isEqualTo("pong");
            assertThat(ea.log).contains("connected,writable");
        }

        @Test void aSynToAClosedPortIsRefused() throws Exception {
            net = new TcpTestNet();
            Events e = new Events();
            TcpConnection c = net.a.stack.open(e);
            c.connect(net.b.at(81));
            net.runUntil(() -> c.state() == TcpState.CLOSED, SECOND);
            Seg rst = net.sentBy("B").get(0);
            assertThat(rst.flags()).isEqualTo(Tcp.RST | Tcp.ACK); // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
            assertThat(rst.seq()).isZero();
            assertThat(rst.ack()).isEqualTo(net.sentBy("A").get(0).seq() + 1);
            assertThat(c.error()).isEqualTo(Errno.ECONNREFUSED);
            assertThat(e.saw("error")).isTrue();
            assertThat(e.saw("released")).isTrue();
            assertThatThrownBy(() -> c.read(ByteBuffer.allocate(1))).isInstanceOf(TcpException.class)
                    .extracting(x -> ((TcpException) x).errno()).isEqualTo(Errno.ECONNREFUSED);
            assertThat(net.b.count(Stat.TCP_NO_PORT)).isEqualTo(1);
            assertThat(net.a.stack.connectionCount()).isZero();
        }

        @Test void aLostSynIsRetransmittedWithBackoffUntilTheConnectionTimesOut() throws Exception {
            net = TcpTestNet.withRawPeer(new TcpConfig());
            Events e = new Events();
            TcpConnection c = net.a.stack.open(e);
            long t0 = net.now();
            c.connect(net.b.at(80));
            net.runUntil(() -> c.state() == TcpState.CLOSED, 1000 * SECOND);
            List<Long> times = net.sentBy("A").stream().map(s -> (s.time() - t0) / SECOND).toList();
            assertThat(times).containsExactly(0L, 1L, 3L, 7L, 15L, 31L, 63L); // RFC 6298: 1 s, doubling; 6 retries
            assertThat((net.now() - t0) / SECOND).isEqualTo(127);
            assertThat(c.error()).isEqualTo(Errno.ETIMEDOUT);
            net.takeReceived();
        }

        @Test void aSynAckForAnotherSynGetsAReset() throws Exception {
            net = TcpTestNet.withRawPeer(new TcpConfig());
            TcpConnection c = net.a.stack.open(new Events());
            c.connect(net.b.at(80));
            net.runFor(0);
            Seg syn = RawPeer.only(net.takeReceived());
            net.inject(Seg.of(Tcp.SYN | Tcp.ACK).ports(80, syn.srcPort()).seq(77).ack(syn.seq() + 5));
            Seg rst = RawPeer.only(net.takeReceivedAfter());
            assertThat(rst.flags()).isEqualTo(Tcp.RST); // <SEQ=SEG.ACK><CTL=RST>
            assertThat(rst.seq()).isEqualTo(syn.seq() + 5);
            assertThat(c.state()).isEqualTo(TcpState.SYN_SENT);
        }

        @Test void aRstWithoutAnAcceptableAckIsIgnoredInSynSent() throws Exception {
            net = TcpTestNet.withRawPeer(new TcpConfig());
            TcpConnection c = net.a.stack.open(new Events());
            c.connect(net.b.at(80));
            net.runFor(0);
            Seg syn = RawPeer.only(net.takeReceived());
            net.inject(Seg.of(Tcp.RST).ports(80, syn.srcPort()).seq(0));
            assertThat(c.state()).isEqualTo(TcpState.SYN_SENT);
            net.inject(Seg.of(Tcp.RST | Tcp.ACK).ports(80, syn.srcPort()).seq(0).ack(syn.seq() + 1));
            assertThat(c.state()).isEqualTo(TcpState.CLOSED);
            assertThat(c.error()).isEqualTo(Errno.ECONNREFUSED);
        }
    }

    @Nested class Established {
        @Test void dataFlowsBothWays() throws Exception {
            net = new TcpTestNet();
            Pair p = new Pair(net);
            p.client.write(ByteBuffer.wrap(bytes("request")));
            net.runUntil(() -> p.server.readable() == 7, SECOND);
            assertThat(readAll(p.server)).isEqualTo("request");
            p.server.write(ByteBuffer.wrap(bytes("response")));
            net.runUntil(() -> p.client.readable() == 8, SECOND);
            assertThat(readAll(p.client)).isEqualTo("response");
            assertThat(p.client.read(ByteBuffer.allocate(10))).isZero(); // nothing more yet
        }

        @Test void aRequestReadWhileItsAckIsDelayedIsAnsweredByTheReplyAloneWithTheWiderWindow() throws Exception {
            net = new TcpTestNet();
            Pair p = new Pair(net);
            net.runFor(100 * MS);
            int before = net.sentBy("B").size();
            int synWindow = net.sentBy("B").get(0).window(); // the SYN-ACK offered 64 KiB of a larger buffer
            p.client.write(ByteBuffer.wrap(bytes("request")));
            net.runUntil(() -> p.server.readable() == 7, SECOND);
            assertThat(readAll(p.server)).isEqualTo("request"); // the window could now grow by more than two segments
            net.runFor(0);
            assertThat(net.sentBy("B")).as("no window update while the delayed ACK is pending").hasSize(before);
            p.server.write(ByteBuffer.wrap(bytes("reply")));
            net.runFor(100 * MS); // past the delayed-ACK time: the reply acknowledged the request, nothing is left to send
            List<Seg> sent = net.sentBy("B").subList(before, net.sentBy("B").size());
            assertThat(sent).hasSize(1);
            assertThat(sent.get(0).len()).isEqualTo(5);
            Seg request = net.sentBy("A").stream().filter(x -> x.len() == 7).findFirst().orElseThrow();
            assertThat(sent.get(0).ack()).isEqualTo(request.seq() + 7);
            assertThat((long) sent.get(0).window() << net.sentBy("B").get(0).wscale()).as("the window the read opened").isGreaterThan(synWindow);
        }

        @Test void dataWrittenBeforeTheHandshakeCompletesFollowsIt() throws Exception {
            net = new TcpTestNet();
            Events se = new Events();
            net.b.stack.listen(net.b.at(80), 4, new TcpSocketOptions(), se);
            TcpConnection c = net.a.stack.open(new Events());
            c.connect(net.b.at(80));
            assertThat(c.write(ByteBuffer.wrap(bytes("early")))).isEqualTo(5);
            net.runUntil(() -> !se.accepted.isEmpty() && se.accepted.get(0).readable() == 5, SECOND);
            assertThat(readAll(se.accepted.get(0))).isEqualTo("early");
        }

        @Test void aSynIsAnsweredWithAChallengeAck() throws Exception {
            net = TcpTestNet.withRawPeer(new TcpConfig());
            RawPeer b = new RawPeer(net).connect(true, true, 7);
            net.inject(b.seg(Tcp.SYN).seq(b.snd + 100));
            Seg ack = RawPeer.only(b.received());
            assertThat(ack.isPureAck()).isTrue();
            assertThat(ack.ack()).isEqualTo(b.snd); // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> (RFC 5961 4.2)
            assertThat(b.c.state()).isEqualTo(TcpState.ESTABLISHED);
            assertThat(net.a.count(Stat.TCP_CHALLENGE_ACKS)).isEqualTo(1);
        }

        @Test void anAckForDataNeverSentIsDroppedWithAChallengeAck() throws Exception {
            net = TcpTestNet.withRawPeer(new TcpConfig());
            RawPeer b = new RawPeer(net).connect(true, true, 7);
            net.inject(b.seg(Tcp.ACK).ack(b.rcv + 1000).data(bytes("x")));
            Seg ack = RawPeer.only(b.received());
            assertThat(ack.ack()).isEqualTo(b.snd); // the data was not taken
            assertThat(b.c.readable()).isZero();
            assertThat(net.a.count(Stat.TCP_RCV_ACK_TOO_MUCH)).isEqualTo(1);
        }

        @Test void segmentsOutsideTheWindowAreAckedAndDropped() throws Exception {
            net = TcpTestNet.withRawPeer(new TcpConfig());
            RawPeer b = new RawPeer(net).connect(true, true, 7);
            net.inject(b.seg(Tcp.ACK).seq(b.snd + 10_000_000).data(bytes("far")));
            Seg ack = RawPeer.only(b.received());
            assertThat(ack.ack()).isEqualTo(b.snd);
            assertThat(net.a.count(Stat.TCP_RCV_AFTER_WINDOW)).isEqualTo(1);
            // an old duplicate is D-SACKed (RFC 2883)
            b.send(bytes("abc"));
            b.received();
            net.inject(b.seg(Tcp.ACK).seq(b.snd - 3).data(bytes("abc")));
            Seg dup = RawPeer.only(b.received());
            assertThat(dup.sack()).containsExactly(b.snd - 3, b.snd);
            assertThat(net.a.count(Stat.TCP_DSACK_SENT)).isEqualTo(1);
        }

        @Test void aSegmentWithABadChecksumOrMalformedOptionsIsDroppedAndCounted() throws Exception {
            net = TcpTestNet.withRawPeer(new TcpConfig());
            RawPeer b = new RawPeer(net).connect(false, false, -1);
            net.inject(b.seg(Tcp.ACK).data(bytes("bad")).badChecksum());
            net.inject(b.seg(Tcp.ACK).data(bytes("bad")).rawOptions((byte) 2, (byte) 0)); // length 0 (RFC 9293 MUST-7)
            net.inject(b.seg(Tcp.ACK).data(bytes("bad")).rawOptions((byte) 3, (byte) 2)); // window scale of the wrong length
            assertThat(b.received()).isEmpty();
            assertThat(b.c.readable()).isZero();
            assertThat(net.a.count(Stat.TCP_RCV_BAD_SUM)).isEqualTo(1);
            assertThat(net.a.count(Stat.TCP_RCV_BAD_OPTIONS)).isEqualTo(2);
            b.send(bytes("good")); // unknown options are skipped
            net.inject(b.seg(Tcp.ACK).data(bytes("!")).rawOptions((byte) 99, (byte) 4, (byte) 0, (byte) 0));
            b.snd++;
            b.received();
            assertThat(readAll(b.c)).isEqualTo("good!");
        }
    }

    @Nested class Closing {
        @Test void halfCloseFromTheClientThenTheServerAnswers() throws Exception {
            net = new TcpTestNet();
            Pair p = new Pair(net);
            p.client.write(ByteBuffer.wrap(bytes("question")));
            p.client.shutdownOutput();
            net.runUntil(() -> p.server.state() == TcpState.CLOSE_WAIT && p.client.state() == TcpState.FIN_WAIT_2, SECOND);
            assertThat(readAll(p.server)).isEqualTo("question");
            assertThat(p.server.read(ByteBuffer.allocate(4))).isEqualTo(-1);
            assertThatThrownBy(() -> p.client.write(ByteBuffer.wrap(bytes("more"))))
                    .extracting(x -> ((TcpException) x).errno()).isEqualTo(Errno.EPIPE);
            p.server.write(ByteBuffer.wrap(bytes("answer")));
            p.server.close();
            assertThat(p.server.state()).isEqualTo(TcpState.LAST_ACK);
            net.runUntil(() -> p.client.state() == TcpState.TIME_WAIT, SECOND);
            assertThat(readAll(p.client)).isEqualTo("answer");
            assertThat(p.client.read(ByteBuffer.allocate(4))).isEqualTo(-1);
            net.runUntil(() -> p.server.state() == TcpState.CLOSED, SECOND);
            assertThat(p.serverEvents.log).last().asString().contains("released");
        }

        @Test void shuttingDownReadingTellsThePeerOnlyWhenItDiscardedSomething() throws Exception {
            net = new TcpTestNet();
            Pair p = new Pair(net);
            net.runFor(100 * MS);
            int before = net.sentBy("B").size(); // the SYN-ACK offered 64 KiB of a larger buffer
            p.server.shutdownInput();
            net.runFor(100 * MS);
            assertThat(net.sentBy("B")).as("nothing discarded: no window update").hasSize(before);

            TcpConnection client = net.a.stack.open(new Events());
            client.connect(net.b.at(80));
            net.runUntil(() -> p.serverEvents.accepted.size() == 2, SECOND);
            TcpConnection server = p.serverEvents.accepted.get(1);
            client.write(ByteBuffer.wrap(new byte[10_000]));
            net.runFor(100 * MS); // received, acknowledged, not read
            int acked = net.sentBy("B").size();
            server.shutdownInput(); // 10 000 bytes discarded: the window opens by as much
            net.runFor(0);
            List<Seg> update = net.sentBy("B").subList(acked, net.sentBy("B").size());
            assertThat(update).hasSize(1);
            assertThat(update.get(0).isPureAck()).isTrue();
            assertThat(update.get(0).dstPort()).isEqualTo(client.local().port());
            assertThat(server.read(ByteBuffer.allocate(10))).isEqualTo(-1);
        }

        @Test void halfCloseFromTheServerWhileTheClientStillSends() throws Exception {
            net = new TcpTestNet();
            Pair p = new Pair(net);
            p.server.shutdownOutput();
            net.runUntil(() -> p.client.state() == TcpState.CLOSE_WAIT, SECOND);
            assertThat(p.client.read(ByteBuffer.allocate(4))).isEqualTo(-1);
            for (int i = 0; i < 3; i++) {
                p.client.write(ByteBuffer.wrap(bytes("data" + i)));
                net.runFor(100 * MS);
            }
            net.runUntil(() -> p.server.readable() == 15, SECOND);
            assertThat(readAll(p.server)).isEqualTo("data0data1data2");
            assertThat(p.server.state()).isEqualTo(TcpState.FIN_WAIT_2);
            p.client.close();
            net.runUntil(() -> p.server.state() == TcpState.TIME_WAIT && p.client.state() == TcpState.CLOSED, SECOND);
        }

        @Test void simultaneousCloseGoesThroughClosingToTimeWait() throws Exception {
            net = new TcpTestNet();
            net.a.out = TcpTestNet.Impairment.delay(5 * MS);
            net.b.out = TcpTestNet.Impairment.delay(5 * MS);
            Pair p = new Pair(net);
            p.client.close();
            p.server.close();
            net.runUntil(() -> p.client.state() == TcpState.CLOSING && p.server.state() == TcpState.CLOSING, SECOND);
            net.runUntil(() -> p.client.state() == TcpState.TIME_WAIT && p.server.state() == TcpState.TIME_WAIT, SECOND);
            net.runFor(61 * SECOND);
            assertThat(p.client.state()).isEqualTo(TcpState.CLOSED);
            assertThat(p.server.state()).isEqualTo(TcpState.CLOSED);
            assertThat(net.a.stack.connectionCount() + net.b.stack.connectionCount()).isZero();
        }

        @Test void timeWaitAcknowledgesARetransmittedFinAndLastsTwoMslFromIt() throws Exception {
            net = TcpTestNet.withRawPeer(new TcpConfig());
            RawPeer b = new RawPeer(net).connect(true, true, 7);
            b.c.close();
            Seg fin = RawPeer.only(b.received());
            assertThat(fin.isFin()).isTrue();
            net.inject(b.seg(Tcp.ACK | Tcp.FIN));
            b.snd++;
            assertThat(RawPeer.only(b.received()).ack()).isEqualTo(b.snd);
            assertThat(b.c.state()).isEqualTo(TcpState.TIME_WAIT);
            net.runFor(40 * SECOND);
            net.inject(b.seg(Tcp.ACK | Tcp.FIN).seq(b.snd - 1)); // our ACK was lost: the FIN again
            assertThat(RawPeer.only(b.received()).ack()).isEqualTo(b.snd);
            net.runFor(59 * SECOND);
            assertThat(b.c.state()).as("2 MSL restarted by the FIN").isEqualTo(TcpState.TIME_WAIT);
            net.runFor(2 * SECOND);
            assertThat(b.c.state()).isEqualTo(TcpState.CLOSED);
        }

        @Test void aNewSynWithALargerTimestampReusesATimeWaitConnection() throws Exception {
            net = new TcpTestNet();
            Pair p = new Pair(net);
            int port = p.client.local().port();
            p.server.close(); // the server closes first: its end keeps TIME-WAIT
            net.runUntil(() -> p.client.state() == TcpState.CLOSE_WAIT, SECOND);
            p.client.close();
            net.runUntil(() -> p.server.state() == TcpState.TIME_WAIT && p.client.state() == TcpState.CLOSED, SECOND);
            net.runFor(SECOND);
            TcpConnection again = net.a.stack.open(new Events());
            again.bind(net.a.at(port));
            again.connect(net.b.at(80));
            net.runUntil(() -> again.state() == TcpState.ESTABLISHED && p.serverEvents.accepted.size() == 2, SECOND);
            assertThat(net.b.count(Stat.TCP_TIME_WAIT_REUSED)).isEqualTo(1);
            Seg synAck = net.sentBy("B").stream().filter(s -> s.has(Tcp.SYN)).reduce((x, y) -> y).orElseThrow();
            Seg oldFin = net.sentBy("B").stream().filter(Seg::isFin).findFirst().orElseThrow();
            assertThat(Seq.gt(synAck.seq(), oldFin.seq() + 1)).as("the new ISS is beyond the old connection's numbers").isTrue();
        }

        @Test void anOldSynCannotReuseATimeWaitConnection() throws Exception {
            net = TcpTestNet.withRawPeer(new TcpConfig());
            Events le = new Events();
            net.a.stack.listen(net.a.at(80), 4, new TcpSocketOptions(), le);
            // B connects to A:80 by hand; A will close first and keep TIME-WAIT
            net.inject(Seg.of(Tcp.SYN).ports(5000, 80).seq(100).mss(1460).ts(1000, 0));
            Seg synAck = RawPeer.only(net.takeReceivedAfter());
            net.inject(Seg.of(Tcp.ACK).ports(5000, 80).seq(101).ack(synAck.seq() + 1).ts(1001, synAck.tsVal()));
            TcpConnection s = le.accepted.get(0);
            s.close();
            Seg fin = RawPeer.only(net.takeReceivedAfter());
            net.inject(Seg.of(Tcp.ACK | Tcp.FIN).ports(5000, 80).seq(101).ack(fin.seq() + 1).ts(1002, fin.tsVal()));
            net.takeReceivedAfter();
            assertThat(s.state()).isEqualTo(TcpState.TIME_WAIT);
            net.inject(Seg.of(Tcp.SYN).ports(5000, 80).seq(50).mss(1460).ts(900, 0)); // older timestamp
            Seg reply = RawPeer.only(net.takeReceivedAfter());
            assertThat(reply.isSyn()).isFalse(); // only an ACK: TIME-WAIT stays
            assertThat(s.state()).isEqualTo(TcpState.TIME_WAIT);
            net.inject(Seg.of(Tcp.SYN).ports(5000, 80).seq(50).mss(1460).ts(2000, 0)); // newer: a new connection
            Seg synAck2 = RawPeer.only(net.takeReceivedAfter());
            assertThat(synAck2.has(Tcp.SYN | Tcp.ACK)).isTrue();
            assertThat(s.state()).isEqualTo(TcpState.CLOSED);
        }

        @Test void anActiveOpenMayReuseItsOwnTimeWaitTuple() throws Exception {
            net = new TcpTestNet();
            Pair p = new Pair(net);
            int port = p.client.local().port();
            p.client.close();
            net.runUntil(() -> p.server.state() == TcpState.CLOSE_WAIT, SECOND);
            p.server.close();
            net.runUntil(() -> p.client.state() == TcpState.TIME_WAIT, SECOND);
            TcpConnection again = net.a.stack.open(new Events());
            again.bind(net.a.at(port));
            again.connect(net.b.at(80));
            net.runUntil(() -> again.state() == TcpState.ESTABLISHED, SECOND);
            assertThat(p.client.state()).isEqualTo(TcpState.CLOSED);
        }

        @Test void closingWithUnreadDataResetsThePeer() throws Exception {
            net = new TcpTestNet();
            Pair p = new Pair(net);
            p.client.write(ByteBuffer.wrap(bytes("never read")));
            net.runUntil(() -> p.server.readable() > 0, SECOND);
            p.server.close();
            net.runUntil(() -> p.client.state() == TcpState.CLOSED, SECOND);
            assertThat(net.sentBy("B").getLast().isRst()).isTrue();
            assertThat(p.client.error()).isEqualTo(Errno.ECONNRESET);
        }

        @Test void dataAfterCloseIsAnsweredWithAReset() throws Exception {
            net = TcpTestNet.withRawPeer(new TcpConfig());
            RawPeer b = new RawPeer(net).connect(true, true, 7);
            b.c.close();
            b.received(); // the FIN
            net.inject(b.seg(Tcp.ACK).ack(b.rcv));
            assertThat(b.c.state()).isEqualTo(TcpState.FIN_WAIT_2);
            b.send(bytes("late"));
            Seg rst = RawPeer.only(b.received());
            assertThat(rst.isRst()).isTrue();
            assertThat(b.c.state()).isEqualTo(TcpState.CLOSED);
            assertThat(net.a.count(Stat.TCP_RCV_AFTER_CLOSE)).isEqualTo(1);
        }

        @Test void anOrphanInFinWait2GivesUpAfterTheTimeout() throws Exception {
            net = TcpTestNet.withRawPeer(new TcpConfig());
            RawPeer b = new RawPeer(net).connect(true, true, 7);
            b.c.close();
            b.received();
            net.inject(b.seg(Tcp.ACK).ack(b.rcv));
            assertThat(b.c.state()).isEqualTo(TcpState.FIN_WAIT_2);
            net.runFor(59 * SECOND);
            assertThat(b.c.state()).isEqualTo(TcpState.FIN_WAIT_2);
            net.runFor(2 * SECOND);
            assertThat(b.c.state()).isEqualTo(TcpState.CLOSED);
        }

        @Test void abortSendsAResetAndDropsEverything() throws Exception {
            net = new TcpTestNet();
            Pair p = new Pair(net);
            p.client.write(ByteBuffer.wrap(bytes("pending")));
            p.client.abort();
            assertThat(p.client.state()).isEqualTo(TcpState.CLOSED);
            net.runUntil(() -> p.server.state() == TcpState.CLOSED, SECOND);
            assertThat(p.server.error()).isEqualTo(Errno.ECONNRESET);
        }
    }

    @Nested class Resets {
        /** A's connection to the raw peer, driven into {@code state}. */
        private RawPeer inState(TcpState state) throws Exception {
            net = TcpTestNet.withRawPeer(new TcpConfig());
            RawPeer b = new RawPeer(net).connect(true, true, 7);
            switch (state) {
                case ESTABLISHED -> { }
                case FIN_WAIT_1 -> { b.c.shutdownOutput(); b.received(); }
                case FIN_WAIT_2 -> { b.c.shutdownOutput(); b.received(); net.inject(b.seg(Tcp.ACK)); }
                case CLOSE_WAIT -> { net.inject(b.seg(Tcp.ACK | Tcp.FIN)); b.snd++; b.received(); }
                case LAST_ACK -> { net.inject(b.seg(Tcp.ACK | Tcp.FIN)); b.snd++; b.received(); b.c.close(); b.received(); }
                case CLOSING -> {
                    b.c.shutdownOutput();
                    int finAck = b.rcv;
                    b.received();
                    net.inject(b.seg(Tcp.ACK | Tcp.FIN).ack(finAck)); // the FINs cross: ours unacknowledged
                    b.snd++;
                    b.received();
                }
                case TIME_WAIT -> { b.c.shutdownOutput(); b.received(); net.inject(b.seg(Tcp.ACK | Tcp.FIN)); b.snd++; b.received(); }
                default -> throw new IllegalArgumentException(state.name());
            }
            assertThat(b.c.state()).isEqualTo(state);
            return b;
        }

        @Test void anExactResetClosesEveryState() throws Exception {
            for (TcpState st : List.of(TcpState.ESTABLISHED, TcpState.FIN_WAIT_1, TcpState.FIN_WAIT_2, TcpState.CLOSE_WAIT,
                    TcpState.CLOSING, TcpState.LAST_ACK, TcpState.TIME_WAIT)) {
                RawPeer b = inState(st);
                net.inject(b.seg(Tcp.RST).ack(0));
                assertThat(b.c.state()).as("after an exact RST in %s", st).isEqualTo(TcpState.CLOSED);
                int expect = switch (st) {
                    case ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT -> Errno.ECONNRESET;
                    default -> 0;
                };
                assertThat(b.c.error()).as("error after RST in %s", st).isEqualTo(expect);
                assertThat(b.received()).as("no answer to a RST").isEmpty();
                net.close();
                assertThat(net.buffersInUse()).isZero();
                net = null;
            }
        }

        @Test void anInWindowResetGetsAChallengeAckInEveryState() throws Exception {
            for (TcpState st : List.of(TcpState.ESTABLISHED, TcpState.FIN_WAIT_1, TcpState.FIN_WAIT_2, TcpState.CLOSE_WAIT,
                    TcpState.CLOSING, TcpState.LAST_ACK)) {
                RawPeer b = inState(st);
                net.inject(b.seg(Tcp.RST).seq(b.snd + 1000).ack(0));
                Seg ack = RawPeer.only(b.received());
                assertThat(ack.isPureAck()).as("challenge ACK in %s", st).isTrue();
                assertThat(ack.ack()).isEqualTo(b.snd);
                assertThat(b.c.state()).isEqualTo(st);
                net.inject(b.seg(Tcp.RST).seq(b.snd + 100_000_000).ack(0)); // outside the window: silence
                assertThat(b.received()).isEmpty();
                assertThat(b.c.state()).isEqualTo(st);
                net.close();
                net = null;
            }
        }

        @Test void challengeAcksAreRateLimitedPerConnection() throws Exception {
            RawPeer b = inState(TcpState.ESTABLISHED);
            for (int i = 0; i < 25; i++) net.inject(b.seg(Tcp.RST).seq(b.snd + 10 + i).ack(0));
            assertThat(b.received()).hasSize(10);
            assertThat(net.a.count(Stat.TCP_CHALLENGE_ACKS_LIMITED)).isEqualTo(15);
            net.runFor(SECOND);
            net.inject(b.seg(Tcp.RST).seq(b.snd + 5).ack(0));
            assertThat(b.received()).hasSize(1);
            assertThat(b.c.state()).isEqualTo(TcpState.ESTABLISHED);
        }

        @Test void aResetOfAHalfOpenConnectionReturnsItsListenerToListen() throws Exception {
            net = TcpTestNet.withRawPeer(new TcpConfig());
            Events le = new Events();
            TcpListener l = net.a.stack.listen(net.a.at(80), 4, new TcpSocketOptions(), le);
            net.inject(Seg.of(Tcp.SYN).ports(5000, 80).seq(100).mss(1460));
            Seg synAck = RawPeer.only(net.takeReceivedAfter());
            assertThat(l.halfOpen()).isEqualTo(1);
            net.inject(Seg.of(Tcp.RST).ports(5000, 80).seq(101));
            assertThat(l.halfOpen()).isZero();
            assertThat(net.a.stack.connectionCount()).isZero();
            assertThat(le.log).doesNotContain("acceptable");
            net.inject(Seg.of(Tcp.ACK).ports(5000, 80).seq(101).ack(synAck.seq() + 1));
            assertThat(RawPeer.only(net.takeReceivedAfter()).isRst()).as("the late ACK finds no connection").isTrue();
        }
    }

    @Nested class Timestamps {
        @Test void pawsDropsASegmentWithAnOldTimestamp() throws Exception {
            net = TcpTestNet.withRawPeer(new TcpConfig());
            RawPeer b = new RawPeer(net).connect(true, true, 7);
            b.send(bytes("new"));
            b.received();
            net.inject(b.seg(Tcp.ACK).ts(b.tsVal - 100, b.lastTsFromA).data(bytes("old")));
            Seg ack = RawPeer.only(b.received());
            assertThat(ack.ack()).isEqualTo(b.snd); // acknowledged, not taken
            assertThat(readAll(b.c)).isEqualTo("new");
            assertThat(net.a.count(Stat.TCP_PAWS_DROPS)).isEqualTo(1);
            // a RST is exempt from PAWS (RFC 7323 5.3)
            net.inject(b.seg(Tcp.RST).ts(b.tsVal - 100, 0).ack(0));
            assertThat(b.c.state()).isEqualTo(TcpState.CLOSED);
        }

        @Test void aSegmentWithoutTimestampsIsDroppedOnceTheyAreOn() throws Exception {
            net = TcpTestNet.withRawPeer(new TcpConfig());
            RawPeer b = new RawPeer(net).connect(true, true, 7);
            net.inject(Seg.of(Tcp.ACK).ports(80, b.aPort).seq(b.snd).ack(b.rcv).data(bytes("bare")));
            assertThat(b.received()).isEmpty();
            assertThat(b.c.readable()).isZero();
            assertThat(net.a.count(Stat.TCP_NO_TIMESTAMP_DROPS)).isEqualTo(1);
        }

        @Test void theTimestampEchoFollowsTsRecentRules() throws Exception {
            net = TcpTestNet.withRawPeer(new TcpConfig());
            RawPeer b = new RawPeer(net).connect(true, true, 7);
            b.send(bytes("a"));
            int sent = b.tsVal;
            Seg ack = RawPeer.only(b.receivedWithin(100 * MS)); // delayed: one small segment
            assertThat(ack.tsEcr()).isEqualTo(sent);
            // an out-of-order segment (above Last.ACK.sent) does not move TS.Recent (RFC 7323 4.3)
            net.inject(b.seg(Tcp.ACK).seq(b.snd + 10).data(bytes("z")));
            assertThat(RawPeer.only(b.received()).tsEcr()).isEqualTo(sent);
        }

        @Test void aSegmentDroppedForItsAckLeavesTsRecentAlone() throws Exception {
            net = TcpTestNet.withRawPeer(new TcpConfig());
            RawPeer b = new RawPeer(net).connect(true, true, 7);
            int before = b.tsVal;
            // a FIN acknowledging what A never sent, with a TSval far ahead: a challenge ACK (RFC 5961 5.2), no more
            net.inject(b.seg(Tcp.ACK | Tcp.FIN).ts(b.tsVal + 1_000_000, b.lastTsFromA).ack(b.rcv + 9999));
            Seg challenge = RawPeer.only(b.received());
            assertThat(challenge.isPureAck()).isTrue();
            assertThat(challenge.tsEcr()).isEqualTo(before);
            assertThat(b.c.state()).isEqualTo(TcpState.ESTABLISHED);
            // the peer's next segment, with its own clock's TSval, is not taken for an old duplicate (PAWS)
            b.send(bytes("data"));
            Seg ack = RawPeer.only(b.receivedWithin(100 * MS));
            assertThat(ack.ack()).isEqualTo(b.snd);
            assertThat(ack.tsEcr()).isEqualTo(b.tsVal);
            assertThat(readAll(b.c)).isEqualTo("data");
            assertThat(net.a.count(Stat.TCP_PAWS_DROPS)).isZero();
        }
    }

    @Nested class WindowScaling {
        @Test void aScaledWindowLetsMoreThan64KiBFly() throws Exception {
            net = new TcpTestNet();
            net.a.out = TcpTestNet.Impairment.delay(50 * MS);
            net.b.out = TcpTestNet.Impairment.delay(50 * MS);
            Pair p = new Pair(net);
            p.server.setReceiveBuffer(1 << 20); // after the handshake the scale (7) is fixed; the buffer may still grow
            byte[] data = new byte[600_000];
            ByteBuffer src = ByteBuffer.wrap(data);
            p.client.setSendBuffer(1 << 20);
            long[] maxFlight = {0};
            while (src.hasRemaining() || p.client.info().sendQueue() > 0) {
                p.client.write(src);
                net.runFor(MS);
                maxFlight[0] = Math.max(maxFlight[0], p.client.info().bytesInFlight());
                p.server.read(ByteBuffer.allocate(1 << 20));
                if (net.now() > 60 * SECOND) throw new AssertionError("stuck");
            }
            assertThat(maxFlight[0]).isGreaterThan(65535);
            assertThat(p.client.info().sendWindow()).isGreaterThan(65535);
        }
    }
}
