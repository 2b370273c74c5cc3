package org.kextnet.kernel.inet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.kextnet.kernel.testing.TestNet.OUR_IP;
import static org.kextnet.kernel.testing.TestNet.PEER_IP;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.buf.Packet;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.testing.Frame;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kernel.testing.TestNet;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kpi.Errno;

class IpOutputTest {
    private TestNet net = TestNet.oneLink();

    @AfterEach void noLeaks() { net.close(); }

    private List<Frame> sendUdp(byte[] data) throws Exception {
        try (UdpSocket so = net.kernel.udp().open().bind(0, 4000)) {
            so.send(ByteBuffer.wrap(data), PEER_IP, 9);
        }
        return net.peer0().recvAll();
    }

    /** Checks the fragments' headers and returns the IP payload they carry, in order. */
    private static byte[] reassemble(List<Frame> fragments) {
        ByteArrayOutputStream l4 = new ByteArrayOutputStream();
        for (int i = 0; i < fragments.size(); i++) {
            Frame f = fragments.get(i);
            assertThat(f.ipChecksumOk()).isTrue();
            assertThat(f.ipId()).isEqualTo(fragments.get(0).ipId());
            assertThat(f.fragOffset()).isEqualTo(l4.size());
            assertThat(f.moreFragments()).isEqualTo(i < fragments.size() - 1);
            assertThat(f.src()).isEqualTo(OUR_IP);
            assertThat(f.dst()).isEqualTo(PEER_IP);
            l4.writeBytes(f.l4Bytes());
        }
        return l4.toByteArray();
    }

    @Test void aDatagramThatFitsIsSentWhole() throws Exception {
        List<Frame> out = sendUdp(Pkt.counting(1472));

        assertThat(out).hasSize(1);
        assertThat(out.get(0).totalLength()).isEqualTo(1500);
        assertThat(out.get(0).frag()).isZero();
        assertThat(out.get(0).udpChecksumOk()).isTrue();
        assertThat(net.stat(Stat.IP_FRAGMENTED)).isZero();
    }

    @Test void oneByteMoreMakesTwoFragments() throws Exception {
        List<Frame> out = sendUdp(Pkt.counting(1473));

        assertThat(out).extracting(Frame::totalLength).containsExactly(1500, 21);
        reassemble(out);
    }

    @Test void aLargeDatagramIsSplitAtTheMtu() throws Exception {
        byte[] data = Pkt.counting(4000);
        List<Frame> out = sendUdp(data);

        assertThat(out).extracting(Frame::totalLength).containsExactly(1500, 1500, 1068);
        assertThat(out).extracting(Frame::fragOffset).containsExactly(0, 1480, 2960);
        byte[] l4 = reassemble(out);
        Frame whole = new Frame(Pkt.udp(4000, 9, data).withSrc(OUR_IP).withDst(PEER_IP).withoutEthernet().ipBytes(), false);
        assertThat(l4).isEqualTo(whole.l4Bytes()); // same UDP header and checksum
        assertThat(net.stat(Stat.IP_FRAGMENTED)).isEqualTo(1);
        assertThat(net.stat(Stat.IP_FRAGMENTS_CREATED)).isEqualTo(3);
    }

    @Test void fragmentSizesAreMultiplesOf8BelowAnOddMtu() throws Exception {
        net.em0().setMtu(1006);
        List<Frame> out = sendUdp(Pkt.counting(2000));

        assertThat(out).extracting(f -> f.totalLength() - 20).containsExactly(984, 984, 40);
        reassemble(out);
    }

    @Test void everyDatagramGetsItsOwnId() throws Exception {
        List<Frame> a = sendUdp(Pkt.counting(10));
        List<Frame> b = sendUdp(Pkt.counting(10));

        assertThat(a.get(0).ipId()).isNotEqualTo(b.get(0).ipId());
    }

    @Test void theLargestDatagramGoesOutIn45Fragments() throws Exception {
        List<Frame> out = sendUdp(new byte[Ipv4.MAX_PACKET - 28]);

        assertThat(out).hasSize(45);
        assertThat(reassemble(out)).hasSize(Ipv4.MAX_PACKET - 20);
    }

    @Test void oneByteMoreIsRefusedWithEmsgsize() throws Exception {
        try (UdpSocket so = net.kernel.udp().open()) {
            assertThatThrownBy(() -> so.send(ByteBuffer.allocate(Ipv4.MAX_PACKET - 27), PEER_IP, 9))
                    .isInstanceOfSatisfying(SocketError.class, e -> assertThat(e.errno()).isEqualTo(Errno.EMSGSIZE));
        }
        net.peer0().recvNothing();
    }

    @Test void dontFragmentOnALocalDatagramFailsWithEmsgsizeAndNoIcmp() {
        Packet m = net.kernel.buffers().alloc(3000);
        m.setLength(2000);
        int err = net.kernel.ipOutput().output(net.ctx, m, 0, PEER_IP, 99, 64, 0, true);

        assertThat(err).isEqualTo(Errno.EMSGSIZE);
        assertThat(net.stat(Stat.IP_CANT_FRAGMENT)).isEqualTo(1);
        assertThat(net.stat(Stat.ICMP_ERRORS)).isZero();
        net.peer0().recvNothing();
        net.assertNoBuffersHeld();
    }

    @Test void noRouteFailsWithEnetunreach() {
        Packet m = net.kernel.buffers().alloc();
        m.setLength(8);
        int err = net.kernel.ipOutput().output(net.ctx, m, 0, Ipv4.parse("192.168.9.9"), 99, 64, 0, false);

        assertThat(err).isEqualTo(Errno.ENETUNREACH);
        assertThat(net.stat(Stat.IP_NO_ROUTE)).isEqualTo(1);
        net.assertNoBuffersHeld();
    }

    @Test void runningOutOfBuffersWhileFragmentingLosesNothingElse() throws Exception {
        net.close();
        net = TestNet.builder().smallBuffers(20).build();
        try (UdpSocket so = net.kernel.udp().open()) {
            assertThatThrownBy(() -> so.send(ByteBuffer.allocate(30000), PEER_IP, 9))
                    .isInstanceOfSatisfying(SocketError.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENOBUFS));
        }
        assertThat(net.stat(Stat.IP_OUT_NO_BUFFERS)).isEqualTo(1);
        assertThat(net.peer0().recvAll()).hasSize(20); // what fitted went out; the pool is empty, then full again
        net.assertNoBuffersHeld();
    }

    @Test void aPacketWithItsOwnHeaderIsRoutedByItsDestination() {
        byte[] ip = Pkt.udp(1, 9, "raw").withSrc(OUR_IP).withDst(PEER_IP).withoutEthernet().ipBytes();
        Packet m = net.kernel.buffers().alloc();
        m.setLength(ip.length);
        m.copyFrom(0, ip, 0, ip.length);

        assertThat(net.kernel.ipOutput().outputPacket(net.ctx, m)).isZero();
        assertThat(net.peer0().recv().ipBytes()).isEqualTo(ip);
    }
}
