package org.kextnet.kernel.inet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;
import static org.kextnet.kernel.testing.Sockets.tryReceive;
import static org.kextnet.kernel.testing.TestNet.OUR_IP;
import static org.kextnet.kernel.testing.TestNet.PEER_IP;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.testing.Frame;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kernel.testing.TestNet;
import org.kextnet.kernel.wire.Ipv4;

class ReassemblyTest {
    private static final byte[] DATA = Pkt.counting(2000);
    /** 2008 bytes of UDP in three fragments: [0,800) [800,1600) [1600,2008). */
    private static final Pkt DATAGRAM = Pkt.udp(5000, 9, DATA).withId(0x4242);
    private static final Pkt F1 = DATAGRAM.fragment(0, 800, true);
    private static final Pkt F2 = DATAGRAM.fragment(800, 800, true);
    private static final Pkt F3 = DATAGRAM.fragment(1600, 408, false);

    private TestNet net = TestNet.oneLink();
    private UdpSocket socket;

    @BeforeEach void listen() throws Exception { socket = net.kernel.udp().open().bind(0, 9); }

    @AfterEach void noLeaks() { net.close(); }

    private Reassembly reassembly() { return net.kernel.ipv4().reassembly(); }

    private void send(Pkt... fragments) {
        for (Pkt f : fragments) net.peer0().send(f);
    }

    @Test void fragmentsInOrderMakeOneDatagram() throws Exception {
        send(F1, F2, F3);

        assertThat(tryReceive(socket)).isEqualTo(DATA);
        assertThat(net.statsChanged()).containsOnly(
                entry(Stat.IP_TOTAL, 3L), entry(Stat.IP_FRAGMENTS, 3L), entry(Stat.IP_REASSEMBLED, 1L),
                entry(Stat.IP_DELIVERED, 1L), entry(Stat.UDP_IN, 1L), entry(Stat.UDP_DELIVERED, 1L));
        assertThat(reassembly().inProgress()).isZero();
        assertThat(reassembly().heldBytes()).isZero();
        net.assertNoBuffersHeld();
    }

    @ParameterizedTest @ValueSource(strings = {"132", "213", "231", "312", "321"})
    void fragmentsOutOfOrderMakeTheSameDatagram(String order) throws Exception {
        Pkt[] f = {F1, F2, F3};
        for (char c : order.toCharArray()) send(f[c - '1']);

        assertThat(tryReceive(socket)).isEqualTo(DATA);
        assertThat(net.stat(Stat.IP_FRAG_DROPPED)).isZero();
    }

    @Test void aDuplicateFragmentIsDroppedAlone() throws Exception {
        send(F1, F1, F2, F3, F3);

        assertThat(tryReceive(socket)).isEqualTo(DATA);
        assertThat(tryReceive(socket)).isNull();
        // the second F3 found no datagram in progress: it starts a new one, which times out
        assertThat(net.stat(Stat.IP_FRAG_DROPPED)).isEqualTo(1);
        assertThat(reassembly().inProgress()).isEqualTo(1);
    }

    @Test void aDuplicateLastFragmentIsDroppedAlone() throws Exception {
        send(F3, F1, F3, F2);

        assertThat(tryReceive(socket)).isEqualTo(DATA);
        assertThat(net.stat(Stat.IP_FRAG_DROPPED)).isEqualTo(1);
    }

    @Test void anOverlappingFragmentDropsTheWholeDatagram() throws Exception {
        send(F1, DATAGRAM.fragment(400, 800, true));

        assertThat(net.stat(Stat.IP_FRAG_DROPPED)).isEqualTo(2); // the overlapping one and F1
        assertThat(reassembly().inProgress()).isZero();
        net.assertNoBuffersHeld();

        send(F2, F3); // the rest can no longer complete it
        assertThat(tryReceive(socket)).isNull();
        assertThat(net.stat(Stat.IP_REASSEMBLED)).isZero();
    }

    @Test void anOverlapWithTheLastFragmentDropsTheWholeDatagram() throws Exception {
        send(F3, F1, DATAGRAM.fragment(1200, 800, true));

        assertThat(net.stat(Stat.IP_FRAG_DROPPED)).isEqualTo(3);
        assertThat(reassembly().inProgress()).isZero();
    }

    @Test void aFragmentPastTheKnownEndDropsTheDatagram() {
        send(F3, DATAGRAM.fragment(2008, 8, true));

        assertThat(net.stat(Stat.IP_FRAG_DROPPED)).isEqualTo(2);
        assertThat(reassembly().inProgress()).isZero();
    }

    @Test void twoDifferentEndsDropTheDatagram() {
        send(F3, DATAGRAM.fragment(800, 800, false));

        assertThat(net.stat(Stat.IP_FRAG_DROPPED)).isEqualTo(2);
        assertThat(reassembly().inProgress()).isZero();
    }

    @Test void aLastFragmentBeforeHeldDataDropsTheDatagram() {
        send(F2, DATAGRAM.fragment(8, 792, false)); // ends at 800, before F2's data

        assertThat(net.stat(Stat.IP_FRAG_DROPPED)).isEqualTo(2);
        assertThat(reassembly().inProgress()).isZero();
    }

    @Test void aMiddleFragmentThatIsNotAMultipleOf8IsDropped() throws Exception {
        send(F1, DATAGRAM.fragment(800, 801, true));

        assertThat(net.stat(Stat.IP_FRAG_DROPPED)).isEqualTo(1);
        assertThat(reassembly().inProgress()).isEqualTo(1); // F1 still waits
        send(F2, F3);
        assertThat(tryReceive(socket)).isEqualTo(DATA);
    }

    @Test void anEmptyFragmentIsDropped() {
        send(DATAGRAM.fragment(800, 0, true));

        assertThat(net.statsChanged()).containsOnly(
                entry(Stat.IP_TOTAL, 1L), entry(Stat.IP_FRAGMENTS, 1L), entry(Stat.IP_FRAG_DROPPED, 1L));
        net.assertNoBuffersHeld();
    }

    @Test void pingOfDeathIsDropped() {
        // The last fragment would end at 65528 + 16 + 20 > 65535.
        Pkt tail = Pkt.raw(Pkt.ICMP, new byte[16]).withId(7).withFrag(65528 >>> 3);
        send(Pkt.echo(1, 1, new byte[1472]).withId(7).fragment(0, 1480, true), tail);

        assertThat(net.stat(Stat.IP_FRAG_DROPPED)).isEqualTo(1);
        assertThat(reassembly().inProgress()).isEqualTo(1);
        net.peer0().recvNothing();
    }

    @Test void theLargestDatagramIsReassembled() throws Exception {
        byte[] data = Pkt.counting(Ipv4.MAX_PACKET - 20 - 8);
        Pkt big = Pkt.udp(5000, 9, data).withId(99);
        List<Pkt> fragments = new ArrayList<>();
        for (int off = 0; off < data.length + 8; off += 1480) {
            int len = Math.min(1480, data.length + 8 - off);
            fragments.add(big.fragment(off, len, off + len < data.length + 8));
        }
        Collections.reverse(fragments);
        send(fragments.toArray(Pkt[]::new));

        assertThat(tryReceive(socket)).isEqualTo(data);
        assertThat(net.stat(Stat.IP_REASSEMBLED)).isEqualTo(1);
    }

    @Test void interleavedDatagramsAreKeptApart() throws Exception {
        Pkt other = Pkt.udp(5001, 9, Pkt.counting(1000)).withId(0x4242).withSrc(Ipv4.parse("10.0.0.3"));
        send(F1, other.fragment(0, 504, true), F2, other.fragment(504, 504, false), F3);

        assertThat(tryReceive(socket)).hasSize(1000);
        assertThat(tryReceive(socket)).isEqualTo(DATA);
    }

    @Test void theOldestDatagramMakesRoomWhenEveryQueueIsBusy() throws Exception {
        for (int id = 0; id < Reassembly.MAX_QUEUES; id++) {
            send(DATAGRAM.withId(id).fragment(0, 800, true));
            net.clock.advance(1 * 1_000_000L);
        }
        assertThat(reassembly().inProgress()).isEqualTo(Reassembly.MAX_QUEUES);

        send(DATAGRAM.withId(1000).fragment(0, 800, true));

        assertThat(reassembly().inProgress()).isEqualTo(Reassembly.MAX_QUEUES);
        assertThat(net.stat(Stat.IP_FRAG_DROPPED)).isEqualTo(1);
        send(DATAGRAM.withId(1).fragment(800, 1208, false)); // the next oldest still completes
        assertThat(tryReceive(socket)).isEqualTo(DATA);
        send(DATAGRAM.withId(0).fragment(800, 1208, false)); // the evicted one cannot
        assertThat(tryReceive(socket)).isNull();
    }

    @Test void heldBytesStayBoundedAcrossDatagrams() {
        net.close();
        net = TestNet.builder().smallBuffers(3000).build();
        int perDatagram = 40; // 64 x 40 fragments of 2 KiB buffers is more than MAX_BYTES
        Pkt big = Pkt.udp(5000, 9, Pkt.counting(perDatagram * 8 * 2)).withId(0);
        for (int id = 0; id < Reassembly.MAX_QUEUES; id++) {
            for (int i = 0; i < perDatagram; i++) send(big.withId(id).fragment(i * 8, 8, true));
            net.clock.advance(1 * 1_000_000L);
        }

        assertThat(reassembly().heldBytes()).isLessThanOrEqualTo(Reassembly.MAX_BYTES);
        assertThat(net.stat(Stat.IP_FRAG_DROPPED)).isPositive();
        assertThat(net.buffersInUse()).isLessThanOrEqualTo(Reassembly.MAX_BYTES / 2048);
    }

    @Test void oneDatagramCannotHoldMoreThanTheLimit() {
        net.close();
        net = TestNet.builder().smallBuffers(2200).build();
        int fragments = Reassembly.MAX_BYTES / 2048 + 10;
        Pkt big = Pkt.udp(5000, 9, new byte[fragments * 8 + 64]).withId(5);
        for (int i = 0; i < fragments; i++) send(big.fragment(i * 8, 8, true));

        assertThat(reassembly().heldBytes()).isLessThanOrEqualTo(Reassembly.MAX_BYTES);
        assertThat(net.buffersInUse()).isLessThanOrEqualTo(Reassembly.MAX_BYTES / 2048);
        assertThat(net.stat(Stat.IP_FRAG_DROPPED)).isPositive();
    }

    @Test void anIncompleteDatagramTimesOutWithTimeExceeded() {
        send(F1, F3);
        net.tick(Reassembly.TIMEOUT_NANOS - 1_000_000, TimeUnit.NANOSECONDS);
        assertThat(reassembly().inProgress()).isEqualTo(1);
        net.peer0().recvNothing();

        net.tick(1, TimeUnit.MILLISECONDS);

        assertThat(reassembly().inProgress()).isZero();
        assertThat(net.stat(Stat.IP_FRAG_TIMEOUT)).isEqualTo(2);
        Frame err = net.peer0().recv();
        assertThat(err.dst()).isEqualTo(PEER_IP);
        assertThat(err.src()).isEqualTo(OUR_IP);
        assertThat(err.icmpType()).isEqualTo(11);
        assertThat(err.icmpCode()).isEqualTo(1);
        assertThat(err.icmpChecksumOk()).isTrue();
        Frame quoted = err.icmpQuote();
        assertThat(quoted.ipId()).isEqualTo(0x4242);
        assertThat(quoted.fragOffset()).isZero();
        assertThat(quoted.moreFragments()).isTrue();
        assertThat(net.stat(Stat.ICMP_OUT_TIME_EXCEEDED)).isEqualTo(1);
        net.assertNoBuffersHeld();
    }

    @Test void noTimeExceededWithoutTheFirstFragment() {
        send(F2, F3);
        net.tick(Reassembly.TIMEOUT_NANOS, TimeUnit.NANOSECONDS);

        assertThat(net.stat(Stat.IP_FRAG_TIMEOUT)).isEqualTo(2);
        net.peer0().recvNothing();
        net.assertNoBuffersHeld();
    }

    @Test void aFragmentedEchoIsAnsweredWithAFragmentedReply() {
        byte[] data = Pkt.counting(3000);
        Pkt echo = Pkt.echo(3, 4, data).withId(11);
        send(echo.fragment(1480, 1480, true), echo.fragment(0, 1480, true), echo.fragment(2960, 48, false));

        List<Frame> reply = net.peer0().recvAll();
        assertThat(reply).hasSize(3);
        ByteArrayOutputStream l4 = new ByteArrayOutputStream();
        for (Frame f : reply) {
            assertThat(f.ipChecksumOk()).isTrue();
            assertThat(f.fragOffset()).isEqualTo(l4.size());
            l4.writeBytes(f.l4Bytes());
        }
        assertThat(reply.get(2).moreFragments()).isFalse();
        byte[] icmp = l4.toByteArray();
        assertThat(icmp[0]).isZero(); // echo reply
        assertThat(Pkt.checksum(icmp, 0, icmp.length, 0)).isZero();
        assertThat(java.util.Arrays.copyOfRange(icmp, 8, icmp.length)).isEqualTo(data);
    }
}
