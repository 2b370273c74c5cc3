package org.kextnet.kernel.link;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;
import static org.kextnet.kernel.testing.TestNet.OUR_IP;
import static org.kextnet.kernel.testing.TestNet.OUR_MAC;
import static org.kextnet.kernel.testing.TestNet.PEER_IP;
import static org.kextnet.kernel.testing.TestNet.PEER_MAC;

import java.nio.ByteBuffer;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.inet.udp.UdpDatagram;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.net.IfCounters;
import org.kextnet.kernel.net.IfFlags;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.testing.Frame;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kernel.testing.TestNet;

class EthernetLinkTest {
    private final TestNet net = TestNet.oneLink();

    @AfterEach void noLeaks() { net.close(); }

    private UdpSocket listen(int port) throws Exception {
        return net.kernel.udp().open().bind(0, port);
    }

    private static byte[] receive(UdpSocket so) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(2048);
        UdpDatagram d = so.tryReceive(b);
        assertThat(d).as("a datagram was queued").isNotNull();
        byte[] out = new byte[d.length()];
        b.flip().get(out);
        return out;
    }

    @Test void frameForOurAddressIsDeliveredAndRepliedToWithOurMac() {
        net.peer0().send(Pkt.echo(1, 1, Pkt.counting(8)));

        Frame reply = net.peer0().recv();
        assertThat(reply.ethDst()).isEqualTo(PEER_MAC);
        assertThat(reply.ethSrc()).isEqualTo(OUR_MAC);
        assertThat(reply.ethType()).isEqualTo(Pkt.ETH_IPV4);
        assertThat(reply.icmpType()).isZero();
    }

    @Test void countsReceivedFramesAndBytes() {
        IfCounters c = net.em0().counters();
        long sentBefore = c.get(IfCounters.OPACKETS); // the gratuitous ARP of the set-up
        byte[] frame = Pkt.echo(1, 1, Pkt.counting(8)).bytes();
        net.peer0().send(frame);
        net.peer0().send(frame);

        assertThat(c.get(IfCounters.IPACKETS)).isEqualTo(2);
        assertThat(c.get(IfCounters.IBYTES)).isEqualTo(2L * frame.length);
        assertThat(c.get(IfCounters.OPACKETS) - sentBefore).isEqualTo(2);
        assertThat(c.get(IfCounters.IERRORS) + c.get(IfCounters.IDROPS)).isZero();
    }

    @Test void runtFrameIsDropped() {
        net.peer0().send(new byte[13]);

        assertThat(net.statsChanged()).containsOnly(entry(Stat.LINK_RUNT, 1L));
        net.assertNoBuffersHeld();
    }

    @Test void emptyFrameIsDropped() {
        net.peer0().send(new byte[0]);

        assertThat(net.statsChanged()).containsOnly(entry(Stat.LINK_RUNT, 1L));
    }

    @Test void headerOnlyFrameReachesItsProtocolAndIsDroppedThere() {
        net.peer0().send(Pkt.echo(1, 1, new byte[0]).truncatedTo(14));

        assertThat(net.statsChanged()).containsOnly(entry(Stat.IP_TOTAL, 1L), entry(Stat.IP_TOO_SHORT, 1L));
    }

    @Test void frameForAnotherStationIsDropped() {
        net.peer0().send(Pkt.echo(1, 1, new byte[8]).withEthDst(0x02_00_00_00_00_99L));

        assertThat(net.statsChanged()).containsOnly(entry(Stat.LINK_NOT_FOR_US, 1L));
        net.peer0().recvNothing();
    }

    @Test void promiscuousInterfaceAcceptsFramesForOtherStations() throws Exception {
        net.em0().setFlags(IfFlags.PROMISC, IfFlags.PROMISC);
        try (UdpSocket so = listen(9)) {
            net.peer0().send(Pkt.udp(5000, 9, "x").withEthDst(0x02_00_00_00_00_99L));

            assertThat(receive(so)).containsExactly('x');
        }
    }

    @Test void broadcastFrameIsAccepted() throws Exception {
        try (UdpSocket so = listen(9)) {
            net.peer0().send(Pkt.udp(5000, 9, "bcast").withEthDst(0xffff_ffff_ffffL));

            assertThat(new String(receive(so))).isEqualTo("bcast");
        }
    }

    @Test void multicastFrameIsAccepted() throws Exception {
        try (UdpSocket so = listen(9)) {
            net.peer0().send(Pkt.udp(5000, 9, "mcast").withEthDst(0x01_00_5e_00_00_01L));

            assertThat(new String(receive(so))).isEqualTo("mcast");
        }
    }

    @Test void noEchoReplyToAPingInABroadcastFrame() {
        net.peer0().send(Pkt.echo(1, 1, new byte[8]).withEthDst(0xffff_ffff_ffffL));

        net.peer0().recvNothing();
        assertThat(net.stat(Stat.ICMP_IN_ECHO)).isEqualTo(1);
        assertThat(net.stat(Stat.ICMP_OUT_ECHO_REPLY)).isZero();
    }

    @Test void unknownEtherTypeIsDropped() {
        net.peer0().send(Pkt.echo(1, 1, new byte[8]).withEthType(0x86dd));

        assertThat(net.statsChanged()).containsOnly(entry(Stat.LINK_UNKNOWN_TYPE, 1L));
    }

    @Test void framesAreDroppedWhileTheInterfaceIsDown() {
        net.em0().down();
        net.peer0().send(Pkt.echo(1, 1, new byte[8]));

        assertThat(net.statsChanged()).containsOnly(entry(Stat.LINK_DOWN, 1L));
        assertThat(net.em0().counters().get(IfCounters.IDROPS)).isEqualTo(1);
        net.peer0().recvNothing();
    }

    @Test void ethernetPaddingIsTrimmedByTheIpTotalLength() throws Exception {
        try (UdpSocket so = listen(9)) {
            // 14 + 20 + 8 + 2 = 44 bytes, padded to the 60-byte minimum frame with non-zero junk
            byte[] frame = Pkt.udp(5000, 9, "hi").withPadding(16).bytes();
            for (int i = 44; i < frame.length; i++) frame[i] = (byte) 0xee;
            net.peer0().send(frame);

            assertThat(new String(receive(so))).isEqualTo("hi");
            assertThat(net.stat(Stat.UDP_BAD_SUM)).isZero();
        }
    }

    @Test void sourceAndDestinationOfTheReplyAreSwapped() {
        net.peer0().send(Pkt.echo(7, 9, new byte[4]));

        Frame f = net.peer0().recv();
        assertThat(f.src()).isEqualTo(OUR_IP);
        assertThat(f.dst()).isEqualTo(PEER_IP);
    }
}
