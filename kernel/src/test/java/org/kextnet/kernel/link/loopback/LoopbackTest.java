package org.kextnet.kernel.link.loopback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.kextnet.kernel.testing.TestNet.OUR_IP;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.inet.Pinger;
import org.kextnet.kernel.inet.udp.UdpDatagram;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.net.IfCounters;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.testing.TestNet;
import org.kextnet.kernel.wire.Ipv4;

/** lo0 runs on its own reader thread, so these tests wait, boundedly, for what comes back. */
class LoopbackTest {
    private static final int LOCALHOST = Ipv4.parse("127.0.0.1");

    private final TestNet net = TestNet.oneLink();

    @AfterEach void noLeaks() { net.close(); }

    @Test void pingsItself() throws Exception {
        try (Pinger p = net.kernel.pinger()) {
            assertThat(p.ping(LOCALHOST, 1, 56, 30, TimeUnit.SECONDS)).isNotNegative();
            assertThat(p.ping(OUR_IP, 2, 1000, 30, TimeUnit.SECONDS)).isNotNegative();
        }
        net.peer0().recvNothing(); // nothing of it reaches a real link
        assertThat(net.stat(Stat.ICMP_OUT_ECHO_REPLY)).isEqualTo(2);
    }

    @Test void aDatagramToOurselvesComesBackThroughLo0() throws Exception {
        long before = net.kernel.loopback().counters().get(IfCounters.IPACKETS);
        try (UdpSocket server = net.kernel.udp().open().bind(0, 9); UdpSocket client = net.kernel.udp().open()) {
            client.send(ByteBuffer.wrap("to 127.0.0.1".getBytes()), LOCALHOST, 9);
            client.send(ByteBuffer.wrap("to 10.0.0.1".getBytes()), OUR_IP, 9);

            assertThat(receive(server)).isEqualTo("to 127.0.0.1");
            UdpDatagram d = server.receive(ByteBuffer.allocate(64), 30, TimeUnit.SECONDS);
            assertThat(d.sourceAddress()).isEqualTo(OUR_IP);
            assertThat(d.sourcePort()).isEqualTo(client.localPort());
        }
        assertThat(net.kernel.loopback().counters().get(IfCounters.IPACKETS) - before).isEqualTo(2);
        net.peer0().recvNothing();
    }

    @Test void largeDatagramsFitLo0WithoutFragmenting() throws Exception {
        try (UdpSocket server = net.kernel.udp().open().bind(0, 9); UdpSocket client = net.kernel.udp().open()) {
            client.send(ByteBuffer.allocate(16000), LOCALHOST, 9);

            UdpDatagram d = server.receive(ByteBuffer.allocate(20000), 30, TimeUnit.SECONDS);
            assertThat(d.length()).isEqualTo(16000);
        }
        assertThat(net.stat(Stat.IP_FRAGMENTED)).isZero();
    }

    @Test void aClosedLocalPortIsReportedOverLo0() throws Exception {
        try (UdpSocket client = net.kernel.udp().open()) {
            client.send(ByteBuffer.wrap(new byte[4]), LOCALHOST, 9);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (net.stat(Stat.ICMP_IN_UNREACH) == 0 && System.nanoTime() - deadline < 0) Thread.onSpinWait();
        }
        assertThat(net.stat(Stat.UDP_NO_PORT)).isEqualTo(1);
        assertThat(net.stat(Stat.ICMP_IN_UNREACH)).isEqualTo(1);
    }

    private static String receive(UdpSocket so) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(64);
        UdpDatagram d = so.receive(b, 30, TimeUnit.SECONDS);
        assertThat(d).as("a datagram within the bound").isNotNull();
        return new String(b.array(), 0, d.length());
    }
}
