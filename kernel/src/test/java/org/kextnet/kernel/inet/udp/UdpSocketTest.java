package org.kextnet.kernel.inet.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.kextnet.kernel.testing.Sockets.tryReceive;
import static org.kextnet.kernel.testing.TestNet.OUR_IP;
import static org.kextnet.kernel.testing.TestNet.PEER_IP;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.testing.Frame;
import org.kextnet.kernel.testing.Pkt;
import org.kextnet.kernel.testing.TestNet;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.ProtocolFamily;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.kpi.socket.SocketConstants;
import org.kextnet.kpi.socketfilter.SocketAttachment;
import org.kextnet.kpi.socketfilter.SocketFilter;
import org.kextnet.kpi.socketfilter.SocketFilterParams;

class UdpSocketTest {
    private final TestNet net = TestNet.oneLink();
    private final UdpLayer udp = net.kernel.udp();

    @AfterEach void noLeaks() { net.close(); }

    private static void assertErrno(int errno, ThrowingCallable call) {
        assertThatThrownBy(call).isInstanceOfSatisfying(SocketError.class, e -> assertThat(e.errno()).isEqualTo(errno));
    }

    @Test void aPortInUseIsRefused() throws Exception {
        try (UdpSocket a = udp.open().bind(0, 53); UdpSocket b = udp.open()) {
            assertErrno(Errno.EADDRINUSE, () -> b.bind(0, 53));
            assertErrno(Errno.EADDRINUSE, () -> b.bind(OUR_IP, 53));
            assertThat(b.localPort()).isZero();
        }
    }

    @Test void aClosedSocketsPortCanBeBoundAgain() throws Exception {
        udp.open().bind(0, 53).close();
        try (UdpSocket b = udp.open().bind(0, 53)) {
            assertThat(b.localPort()).isEqualTo(53);
        }
    }

    @Test void anAddressThatIsNotOursIsRefused() {
        try (UdpSocket so = udp.open()) {
            assertErrno(Errno.EADDRNOTAVAIL, () -> so.bind(PEER_IP, 53));
        }
    }

    @Test void aSocketBindsOnce() throws Exception {
        try (UdpSocket so = udp.open().bind(0, 53)) {
            assertErrno(Errno.EINVAL, () -> so.bind(0, 54));
        }
    }

    @Test void portsOutOfRangeAreRefused() {
        try (UdpSocket so = udp.open()) {
            assertErrno(Errno.EINVAL, () -> so.bind(0, 65536));
            assertErrno(Errno.EINVAL, () -> so.bind(0, -1));
            assertErrno(Errno.EINVAL, () -> so.send(ByteBuffer.allocate(1), PEER_IP, 0));
            assertErrno(Errno.EINVAL, () -> so.connect(PEER_IP, 70000));
        }
    }

    @Test void ephemeralPortsAreDistinctAndInRange() throws Exception {
        Set<Integer> ports = new HashSet<>();
        for (int i = 0; i < 100; i++) ports.add(udp.open().bind(0, 0).localPort());

        assertThat(ports).hasSize(100).allSatisfy(p -> assertThat(p).isBetween(UdpLayer.EPHEMERAL_FIRST, UdpLayer.EPHEMERAL_LAST));
    }

    @Test void ephemeralPortsSkipBoundOnesAndRunOut() throws Exception {
        int range = UdpLayer.EPHEMERAL_LAST - UdpLayer.EPHEMERAL_FIRST + 1;
        udp.open().bind(0, UdpLayer.EPHEMERAL_FIRST + 1);
        for (int i = 0; i < range - 1; i++) {
            assertThat(udp.open().bind(0, 0).localPort()).isNotEqualTo(UdpLayer.EPHEMERAL_FIRST + 1);
        }
        assertErrno(Errno.EADDRNOTAVAIL, () -> udp.open().bind(0, 0));
    }

    @Test void sendingBindsAnEphemeralPortAndBuildsAValidDatagram() throws Exception {
        try (UdpSocket so = udp.open()) {
            so.send(ByteBuffer.wrap("payload".getBytes()), PEER_IP, 9);

            Frame f = net.peer0().recv();
            assertThat(f.src()).isEqualTo(OUR_IP);
            assertThat(f.dst()).isEqualTo(PEER_IP);
            assertThat(f.protocol()).isEqualTo(Pkt.UDP);
            assertThat(f.ttl()).isEqualTo(64);
            assertThat(f.ipChecksumOk()).isTrue();
            assertThat(f.udpSrcPort()).isEqualTo(so.localPort()).isBetween(UdpLayer.EPHEMERAL_FIRST, UdpLayer.EPHEMERAL_LAST);
            assertThat(f.udpDstPort()).isEqualTo(9);
            assertThat(f.udpLength()).isEqualTo(15);
            assertThat(f.udpChecksumOk()).isTrue();
            assertThat(f.udpPayload()).isEqualTo("payload".getBytes());
            assertThat(net.stat(Stat.UDP_OUT)).isEqualTo(1);
        }
    }

    @Test void aConnectedSocketSendsToItsPeer() throws Exception {
        try (UdpSocket so = udp.open().connect(PEER_IP, 4444)) {
            so.send(ByteBuffer.wrap(new byte[3]));

            assertThat(net.peer0().recv().udpDstPort()).isEqualTo(4444);
        }
    }

    @Test void anUnconnectedSocketNeedsADestination() {
        try (UdpSocket so = udp.open()) {
            assertErrno(Errno.EDESTADDRREQ, () -> so.send(ByteBuffer.allocate(1)));
        }
    }

    @Test void noRouteIsReported() {
        try (UdpSocket so = udp.open()) {
            ByteBuffer data = ByteBuffer.allocate(5);
            assertErrno(Errno.ENETUNREACH, () -> so.send(data, Ipv4.parse("192.168.0.1"), 9));
            assertThat(data.position()).as("a refused send consumes nothing").isZero();
        }
        net.assertNoBuffersHeld();
    }

    @Test void tryReceiveReturnsNullWhenNothingWaits() throws Exception {
        try (UdpSocket so = udp.open().bind(0, 9)) {
            assertThat(so.tryReceive(ByteBuffer.allocate(16))).isNull();
        }
    }

    @Test void aBlockingReceiveTimesOut() throws Exception {
        try (UdpSocket so = udp.open().bind(0, 9)) {
            assertThat(so.receive(ByteBuffer.allocate(16), 10, TimeUnit.MILLISECONDS)).isNull();
        }
    }

    @Test void aBlockedReceiverGetsTheNextDatagram() throws Exception {
        try (UdpSocket so = udp.open().bind(0, 9)) {
            ByteBuffer b = ByteBuffer.allocate(16);
            CompletableFuture<UdpDatagram> got = new CompletableFuture<>();
            Thread t = Thread.ofVirtual().start(() -> {
                try {
                    got.complete(so.receive(b, 1, TimeUnit.MINUTES));
                } catch (Throwable e) {
                    got.completeExceptionally(e);
                }
            });
            awaitParked(t);
            net.peer0().send(Pkt.udp(5000, 9, "wake"));

            UdpDatagram d = got.get(30, TimeUnit.SECONDS);
            assertThat(d.length()).isEqualTo(4);
            assertThat(new String(b.array(), 0, 4)).isEqualTo("wake");
        }
    }

    @Test void closingWakesABlockedReceiverWithEbadf() throws Exception {
        UdpSocket so = udp.open().bind(0, 9);
        CompletableFuture<UdpDatagram> got = new CompletableFuture<>();
        Thread t = Thread.ofVirtual().start(() -> {
            try {
                got.complete(so.receive(ByteBuffer.allocate(16), 1, TimeUnit.MINUTES));
            } catch (Throwable e) {
                got.completeExceptionally(e);
            }
        });
        awaitParked(t);
        so.close();

        assertThatThrownBy(() -> got.get(30, TimeUnit.SECONDS))
                .cause().isInstanceOfSatisfying(SocketError.class, e -> assertThat(e.errno()).isEqualTo(Errno.EBADF));
        assertErrno(Errno.EBADF, () -> so.tryReceive(ByteBuffer.allocate(1)));
        assertErrno(Errno.EBADF, () -> so.send(ByteBuffer.allocate(1), PEER_IP, 9));
    }

    private static void awaitParked(Thread t) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (t.getState() != Thread.State.TIMED_WAITING && t.getState() != Thread.State.WAITING) {
            assertThat(System.nanoTime() - deadline).as("receiver parked in time").isNegative();
            Thread.onSpinWait();
        }
    }

    @Test void aDatagramLargerThanTheBufferIsTruncated() throws Exception {
        try (UdpSocket so = udp.open().bind(0, 9)) {
            net.peer0().send(Pkt.udp(5000, 9, "0123456789"));
            ByteBuffer small = ByteBuffer.allocate(4);

            UdpDatagram d = so.tryReceive(small);
            assertThat(d.length()).isEqualTo(4);
            assertThat(d.truncated()).isTrue();
            assertThat(small.array()).isEqualTo("0123".getBytes());
            assertThat(tryReceive(so)).isNull(); // the rest is gone
        }
    }

    @Test void theEchoServiceReflectsDatagrams() throws Exception {
        try (UdpEchoService echo = UdpEchoService.start(net.kernel.udp(), 7)) {
            Pkt p = Pkt.udp(5555, 7, Pkt.counting(100));
            net.peer0().send(p);

            Frame f = net.peer0().recv();
            assertThat(f.src()).isEqualTo(OUR_IP);
            assertThat(f.dst()).isEqualTo(PEER_IP);
            assertThat(f.udpSrcPort()).isEqualTo(7);
            assertThat(f.udpDstPort()).isEqualTo(5555);
            assertThat(f.udpPayload()).isEqualTo(Pkt.counting(100));
            assertThat(f.ipChecksumOk()).isTrue();
            assertThat(f.udpChecksumOk()).isTrue();
            assertThat(echo.port()).isEqualTo(7);
        }
    }

    /** The echo service is an ordinary socket: a global UDP filter sees what it receives and what it sends. */
    @Test void aSocketFilterSeesTheEchoServicesTrafficBothWays() throws Exception {
        List<String> seen = Collections.synchronizedList(new ArrayList<>());
        ExtensionHandle ext = net.kernel.nke().open("udp-watch");
        ext.socketFilters().register(new SocketFilterParams(0x55445031, SocketFilterParams.FLAG_GLOBAL, "udp-watch",
                ProtocolFamily.PF_INET, SocketConstants.SOCK_DGRAM, SocketConstants.IPPROTO_UDP), new SocketFilter() {
            @Override public int dataIn(SocketAttachment at, SockAddr from, Mbuf data, Mbuf control, int flags) {
                seen.add("in " + data.packetLength() + " from " + from.port());
                return 0;
            }
            @Override public int dataOut(SocketAttachment at, SockAddr to, Mbuf data, Mbuf control, int flags) {
                seen.add("out " + data.packetLength() + " to " + to.port());
                return 0;
            }
        });
        try (UdpEchoService echo = UdpEchoService.start(net.kernel.udp(), 7)) {
            net.peer0().send(Pkt.udp(5555, 7, Pkt.counting(100)));

            Frame f = net.peer0().recv();
            assertThat(f.udpPayload()).isEqualTo(Pkt.counting(100));
            assertThat(seen).containsExactly("in 100 from 5555", "out 100 to 5555");
        }
        ext.removeAll();
        net.assertNoBuffersHeld();
    }

    /** A datagram a filter held and re-injected later is echoed then, from the injecting thread. */
    @Test void theEchoServiceAnswersADatagramAFilterReinjects() throws Exception {
        List<Mbuf> held = Collections.synchronizedList(new ArrayList<>());
        ExtensionHandle ext = net.kernel.nke().open("udp-hold");
        int handle = 0x55445032;
        ext.socketFilters().register(new SocketFilterParams(handle, SocketFilterParams.FLAG_GLOBAL, "udp-hold",
                ProtocolFamily.PF_INET, SocketConstants.SOCK_DGRAM, SocketConstants.IPPROTO_UDP), new SocketFilter() {
            @Override public int dataIn(SocketAttachment at, SockAddr from, Mbuf data, Mbuf control, int flags) {
                held.add(data);
                return Errno.EJUSTRETURN;
            }
        });
        try (UdpEchoService echo = UdpEchoService.start(net.kernel.udp(), 7)) {
            net.peer0().send(Pkt.udp(5555, 7, "later"));
            net.peer0().recvNothing();
            assertThat(held).hasSize(1);

            assertThat(ext.socketFilters().injectDataIn(echo.socket(), handle, SockAddr.of(PEER_IP, 5555), held.get(0), null, 0)).isZero();

            Frame f = net.peer0().recv();
            assertThat(f.udpDstPort()).isEqualTo(5555);
            assertThat(f.udpPayload()).isEqualTo("later".getBytes());
        }
        ext.removeAll();
    }

    @Test void theEchoServiceDropsIpOptionsFromItsReply() throws Exception {
        try (UdpEchoService echo = UdpEchoService.start(net.kernel.udp(), 7)) {
            net.peer0().send(Pkt.udp(5555, 7, "opt").withOptions(1, 1, 1, 1, 7, 7, 4, 0, 0, 0, 0));

            Frame f = net.peer0().recv();
            assertThat(f.ipHeaderLength()).isEqualTo(20);
            assertThat(f.totalLength()).isEqualTo(20 + 8 + 3);
            assertThat(f.ipChecksumOk()).isTrue();
            assertThat(f.udpChecksumOk()).isTrue();
            assertThat(f.udpPayload()).isEqualTo("opt".getBytes());
        }
    }

    @ParameterizedTest @ValueSource(ints = {0, 7, 9, 13, 19, 37})
    void theEchoServiceNeverAnswersAnotherServicePort(int port) throws Exception {
        // Two echo services (or echo and chargen) answering each other would never stop.
        try (UdpEchoService echo = UdpEchoService.start(net.kernel.udp(), 7)) {
            net.peer0().send(Pkt.udp(port, 7, "ping-pong"));

            net.peer0().recvNothing();
            assertThat(net.stat(Stat.UDP_ECHO_REFUSED)).isEqualTo(1);
        }
    }

    @Test void theEchoServiceNeverAnswersABroadcast() throws Exception {
        try (UdpEchoService echo = UdpEchoService.start(net.kernel.udp(), 7)) {
            net.peer0().send(Pkt.udp(5555, 7, "amp").withDst(-1).withEthDst(0xffff_ffff_ffffL));

            net.peer0().recvNothing();
            assertThat(net.stat(Stat.UDP_ECHO_REFUSED)).isEqualTo(1);
            net.assertNoBuffersHeld();
        }
    }

    /** ICMP errors reach the transport that sent the datagram (pr_ctlinput): a connected socket hears its peer's. */
    @Test void aPortUnreachableFromItsPeerFailsAConnectedSocketsNextCallWithEconnrefused() throws Exception {
        try (UdpSocket so = udp.open(); UdpSocket other = udp.open()) {
            so.bind(0, 4000);
            so.connect(org.kextnet.kpi.socket.SockAddr.of(PEER_IP, 9));
            so.send(ByteBuffer.wrap("hi".getBytes()));
            Frame sent = net.peer0().recv();
            other.bind(0, 4001); // not connected: hears nothing
            other.send(ByteBuffer.wrap("ho".getBytes()), PEER_IP, 9);
            Frame sentOther = net.peer0().recv();

            net.peer0().send(Pkt.icmp(3, 3, 0, sent.ipBytes()).withSrc(PEER_IP).withDst(OUR_IP));
            net.peer0().send(Pkt.icmp(3, 3, 0, sentOther.ipBytes()).withSrc(PEER_IP).withDst(OUR_IP));

            assertThatThrownBy(() -> so.send(ByteBuffer.wrap("again".getBytes())))
                    .isInstanceOfSatisfying(SocketError.class, e -> assertThat(e.errno()).isEqualTo(Errno.ECONNREFUSED));
            so.send(ByteBuffer.wrap("again".getBytes())); // reported once
            assertThat(net.peer0().recv().udpPayload()).isEqualTo("again".getBytes());
            assertThat(other.tryReceive(ByteBuffer.allocate(10))).isNull();
            other.send(ByteBuffer.wrap("ho".getBytes()), PEER_IP, 9);
        }
    }

    @Test void anErrorQuotingTooLittleIsCountedAndDropped() {
        byte[] quote = new byte[12]; // less than an IP header
        net.peer0().send(Pkt.icmp(3, 3, 0, quote).withSrc(PEER_IP).withDst(OUR_IP));
        assertThat(net.stat(Stat.ICMP_BAD_QUOTE)).isEqualTo(1);
    }
}
