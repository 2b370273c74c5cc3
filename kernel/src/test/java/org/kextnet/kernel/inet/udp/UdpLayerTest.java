package org.kextnet.kernel.inet.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;
import static org.kextnet.kernel.testing.Sockets.tryReceive;
import static org.kextnet.kernel.testing.TestNet.OUR_IP;
import static org.kextnet.kernel.testing.TestNet.PEER_IP;

import java.nio.ByteBuffer;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.net.InterfaceAddress;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.testing.Frame;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kernel.testing.TestNet;
import org.kextnet.kernel.wire.Ipv4;

class UdpLayerTest {
    private static final Pkt TO_9 = Pkt.udp(5000, 9, "hello");

    private final TestNet net = TestNet.oneLink();
    private UdpSocket so;

    @BeforeEach void listen() throws Exception { so = net.kernel.udp().open().bind(0, 9); }

    @AfterEach void noLeaks() { net.close(); }

    @Test void aValidDatagramReachesItsSocket() throws Exception {
        net.peer0().send(TO_9);

        ByteBuffer b = ByteBuffer.allocate(64);
        UdpDatagram d = so.tryReceive(b);
        assertThat(d.sourceAddress()).isEqualTo(PEER_IP);
        assertThat(d.sourcePort()).isEqualTo(5000);
        assertThat(d.length()).isEqualTo(5);
        assertThat(d.truncated()).isFalse();
        assertThat(new String(b.array(), 0, 5)).isEqualTo("hello");
        assertThat(net.statsChanged()).containsOnly(entry(Stat.IP_TOTAL, 1L), entry(Stat.IP_DELIVERED, 1L),
                entry(Stat.UDP_IN, 1L), entry(Stat.UDP_DELIVERED, 1L));
        net.assertNoBuffersHeld();
    }

    @Test void anEmptyDatagramIsDelivered() throws Exception {
        net.peer0().send(Pkt.udp(5000, 9, new byte[0]));

        assertThat(tryReceive(so)).isEmpty();
    }

    @Test void noChecksumIsAccepted() throws Exception {
        net.peer0().send(TO_9.withL4Checksum(0));

        assertThat(tryReceive(so)).isEqualTo("hello".getBytes());
    }

    @Test void aComputedZeroChecksumSentAsAllOnesIsAccepted() throws Exception {
        // Two payload bytes equal to the checksum of the datagram without them make the sum 0xffff.
        byte[] without = Pkt.udp(5000, 9, new byte[2]).l4();
        int c = without[6] & 0xff, c2 = without[7] & 0xff;
        Pkt zero = Pkt.udp(5000, 9, new byte[] {(byte) c, (byte) c2});
        assertThat(zero.l4()[6] & 0xff).isEqualTo(0xff);
        assertThat(zero.l4()[7] & 0xff).isEqualTo(0xff);
        net.peer0().send(zero);

        assertThat(tryReceive(so)).containsExactly(c, c2);
    }

    @Test void aBadChecksumIsDropped() throws Exception {
        net.peer0().send(TO_9.withL4Checksum(0x1234));

        assertThat(tryReceive(so)).isNull();
        assertThat(net.statsChanged()).containsOnly(entry(Stat.IP_TOTAL, 1L), entry(Stat.IP_DELIVERED, 1L),
                entry(Stat.UDP_BAD_SUM, 1L));
    }

    @Test void aCorruptPayloadFailsTheChecksum() throws Exception {
        byte[] f = TO_9.bytes();
        f[f.length - 1] ^= 1;
        net.peer0().send(f);

        assertThat(net.stat(Stat.UDP_BAD_SUM)).isEqualTo(1);
    }

    @Test void anIncompleteHeaderIsDropped() {
        net.peer0().send(Pkt.raw(Pkt.UDP, new byte[7]));

        assertThat(net.stat(Stat.UDP_HDR_DROPS)).isEqualTo(1);
        net.peer0().recvNothing();
    }

    @Test void aLengthPastTheIpPayloadIsDropped() {
        net.peer0().send(TO_9.withUdpLength(14));

        assertThat(net.stat(Stat.UDP_BAD_LEN)).isEqualTo(1);
        net.peer0().recvNothing();
    }

    @Test void aLengthBelowTheHeaderIsDropped() {
        net.peer0().send(TO_9.withUdpLength(7));

        assertThat(net.stat(Stat.UDP_BAD_LEN)).isEqualTo(1);
    }

    @Test void aShorterLengthTrimsTheDatagram() throws Exception {
        net.peer0().send(TO_9.withUdpLength(8 + 3));

        assertThat(tryReceive(so)).isEqualTo("hel".getBytes());
    }

    @Test void noSocketIsAnsweredWithPortUnreachable() {
        Pkt p = TO_9.withDstPort(10);
        net.peer0().send(p);

        Frame err = net.peer0().recv();
        assertThat(err.src()).isEqualTo(OUR_IP);
        assertThat(err.dst()).isEqualTo(PEER_IP);
        assertThat(err.icmpType()).isEqualTo(3);
        assertThat(err.icmpCode()).isEqualTo(3);
        assertThat(err.icmpQuote().ipBytes()).isEqualTo(p.ipBytes());
        assertThat(net.statsChanged()).containsOnly(entry(Stat.IP_TOTAL, 1L), entry(Stat.IP_DELIVERED, 1L),
                entry(Stat.UDP_IN, 1L), entry(Stat.UDP_NO_PORT, 1L), entry(Stat.ICMP_ERRORS, 1L),
                entry(Stat.ICMP_OUT_UNREACH, 1L), entry(Stat.IP_LOCAL_OUT, 1L));
    }

    @Test void noSocketForABroadcastIsDroppedQuietly() {
        net.peer0().send(TO_9.withDstPort(10).withDst(Ipv4.parse("10.0.0.255")).withEthDst(0xffff_ffff_ffffL));

        net.peer0().recvNothing();
        assertThat(net.stat(Stat.UDP_NO_PORT_BCAST)).isEqualTo(1);
        assertThat(net.stat(Stat.ICMP_ERRORS)).isZero();
    }

    @Test void aSocketBoundToOneAddressIgnoresTheOthers() throws Exception {
        int second = Ipv4.parse("10.0.0.77");
        net.kernel.addAddress(net.em0(), new InterfaceAddress(second, 24));
        net.peer0().drain();
        try (UdpSocket bound = net.kernel.udp().open().bind(second, 10)) {
            net.peer0().send(TO_9.withDstPort(10).withDst(second));
            net.peer0().send(TO_9.withDstPort(10));

            assertThat(tryReceive(bound)).isEqualTo("hello".getBytes());
            assertThat(tryReceive(bound)).isNull();
            assertThat(net.peer0().recv().icmpCode()).isEqualTo(3);
        }
    }

    @Test void aConnectedSocketTakesOnlyItsPeer() throws Exception {
        so.connect(PEER_IP, 5000);
        net.peer0().send(TO_9.withSrcPort(5001));
        net.peer0().send(TO_9.withSrc(Ipv4.parse("10.0.0.3")));
        net.peer0().send(TO_9);

        assertThat(tryReceive(so)).isEqualTo("hello".getBytes());
        assertThat(tryReceive(so)).isNull();
        assertThat(net.stat(Stat.UDP_NO_PORT)).isEqualTo(2);
    }

    @Test void datagramsBeyondTheQueueLimitAreDropped() throws Exception {
        so.setQueueLimit(2);
        for (int i = 0; i < 5; i++) net.peer0().send(Pkt.udp(5000, 9, "d" + i));

        assertThat(net.stat(Stat.UDP_FULL_SOCKET)).isEqualTo(3);
        assertThat(so.available()).isEqualTo(2);
        assertThat(net.buffersInUse()).isEqualTo(2);
        assertThat(tryReceive(so)).isEqualTo("d0".getBytes());
        assertThat(tryReceive(so)).isEqualTo("d1".getBytes());
        net.assertNoBuffersHeld();
    }

    @Test void shrinkingTheQueueFreesWhatNoLongerFits() throws Exception {
        for (int i = 0; i < 4; i++) net.peer0().send(Pkt.udp(5000, 9, "d" + i));
        so.setQueueLimit(1);

        assertThat(net.buffersInUse()).isEqualTo(1);
        assertThat(tryReceive(so)).isEqualTo("d0".getBytes());
    }

    @Test void closingASocketFreesWhatItQueued() {
        for (int i = 0; i < 4; i++) net.peer0().send(TO_9);
        so.close();

        net.assertNoBuffersHeld();
        net.peer0().send(TO_9); // the port is free again: port unreachable
        assertThat(net.peer0().recv().icmpCode()).isEqualTo(3);
    }
}
