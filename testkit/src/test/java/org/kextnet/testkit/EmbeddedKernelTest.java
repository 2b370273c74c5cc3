package org.kextnet.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.Kpi;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.Position;
import org.kextnet.kpi.Registration;
import org.kextnet.kpi.control.ControlClient;
import org.kextnet.kpi.control.ControlConnection;
import org.kextnet.kpi.control.ControlKpi;
import org.kextnet.kpi.control.ControlParams;
import org.kextnet.kpi.control.ControlRef;
import org.kextnet.kpi.control.KernelControl;
import org.kextnet.kpi.domain.ProtocolSocket;
import org.kextnet.kpi.domain.ProtocolSwitch;
import org.kextnet.kpi.ipfilter.IpFilter;
import org.kextnet.kpi.ipfilter.IpFilterRef;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.ProtocolFamily;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.kpi.socket.SocketConstants;
import org.kextnet.kpi.socketfilter.SocketAttachment;
import org.kextnet.kpi.socketfilter.SocketFilter;
import org.kextnet.kpi.socketfilter.SocketFilterParams;

/** What the test kit offers besides injecting and reading packets, each through KPI types only. */
class EmbeddedKernelTest {
    private static String text(byte[] b) { return new String(b, StandardCharsets.US_ASCII); }

    private static String text(Mbuf m) { return text(m.toByteArray()); }

    @Test void countersReadTheKernelsStatistics() {
        try (EmbeddedKernel k = EmbeddedKernel.create()) {
            k.injectIp(Frames.udpPacket(k.peerIp(), k.ip(), 4000, 9999, "x".getBytes()));
            k.runPending();

            assertThat(k.stat(Counter.IP_TOTAL)).isEqualTo(1);
            assertThat(k.stat(Counter.IP_DELIVERED)).isEqualTo(1);
            assertThat(k.stat(Counter.UDP_NO_PORT)).isEqualTo(1);
            assertThat(k.stat(Counter.UDP_DELIVERED)).isZero();
            byte[] unreachable = k.readOutboundIp();                     // ICMP port unreachable to the peer
            assertThat(Frames.ipProtocol(unreachable)).isEqualTo(Frames.PROTO_ICMP);
            assertThat(Frames.ipDst(unreachable)).isEqualTo(k.peerIp());
            assertThat(k.stat(Counter.IP_LOCAL_OUT)).isEqualTo(1);
            assertThat(k.statistics()).contains("1 dropped due to no socket");
            assertThat(k.leakedBuffers()).isZero();
        }
    }

    @Test void theFaultPolicyDecidesWhatAThrowingFilterCosts() throws Exception {
        assertThatThrownBy(() -> new FaultPolicy(0, false, false)).isInstanceOf(IllegalArgumentException.class);
        try (EmbeddedKernel k = EmbeddedKernel.builder().ethernet("wire0", "10.0.0.1/24")
                .faultPolicy(new FaultPolicy(1, true, false)).build()) {
            IpFilterRef ref = k.kpi("com.example.buggy").ipFilters().addV4("buggy", Position.DEFAULT, new IpFilter() {
                @Override public int input(Mbuf m, int offset, int protocol) { throw new IllegalStateException("bug"); }
            });
            TestSocket so = k.openUdp(5000);
            k.injectIp(Frames.udpPacket(k.peerIp(), k.ip(), 4000, 5000, "a".getBytes()));
            k.injectIp(Frames.udpPacket(k.peerIp(), k.ip(), 4000, 5000, "b".getBytes()));
            k.runPending();
            k.awaitDetached();

            assertThat(so.available()).as("fail-pass: the packet the filter threw on goes on").isEqualTo(2);
            assertThat(k.stat(Counter.NKE_FAULTS)).isEqualTo(1);
            assertThat(k.stat(Counter.NKE_FAULT_DROPS)).isZero();
            assertThat(k.stat(Counter.NKE_QUARANTINED)).as("removed after one fault").isEqualTo(1);
            assertThat(ref.state()).isEqualTo(Registration.State.FAULTED);
            so.close();
        }
    }

    /** Echoes what a client sends. */
    private static final class Echo implements KernelControl {
        final Kpi kpi;
        ControlRef ref;

        Echo(Kpi kpi) { this.kpi = kpi; }

        @Override public int connect(ControlConnection c) { return 0; }

        @Override public int send(ControlConnection c, Mbuf m, int flags) {
            byte[] data = m.toByteArray();
            m.free();
            return kpi.controls().enqueueData(ref, c.unit(), ByteBuffer.wrap(data), ControlKpi.DATA_EOR);
        }
    }

    @Test void aClientConnectsToTheExtensionsKernelControl() throws Exception {
        try (EmbeddedKernel k = EmbeddedKernel.create()) {
            Echo echo = new Echo(k.kpi("com.example.kctl"));
            echo.ref = echo.kpi.controls().register(ControlParams.named("com.example.echo"), echo);
            try (ControlClient c = k.connectControl("com.example.echo", 0, false)) {
                assertThat(c.address().id()).isEqualTo(echo.ref.id());
                assertThat(c.send(ByteBuffer.wrap("hello".getBytes(StandardCharsets.US_ASCII)), 0)).isZero();
                ByteBuffer b = ByteBuffer.allocate(16);
                assertThat(c.receive(b, 5, TimeUnit.SECONDS)).isEqualTo(5);
                assertThat(text(Arrays.copyOf(b.array(), 5))).isEqualTo("hello");
            }
            assertThatThrownBy(() -> k.connectControl("com.example.none", 0, false)).isInstanceOf(KpiException.class)
                    .matches(e -> ((KpiException) e).errno() == Errno.ENOENT);
        }
    }

    @Test void aProgrammaticSocketFilterSeesATestSocketsTraffic() throws Exception {
        List<String> calls = new CopyOnWriteArrayList<>();
        try (EmbeddedKernel k = EmbeddedKernel.create()) {
            k.kpi("com.example.sflt").socketFilters().register(new SocketFilterParams(0xB0B, SocketFilterParams.FLAG_PROG,
                    "watch", ProtocolFamily.PF_INET, SocketConstants.SOCK_DGRAM, SocketConstants.IPPROTO_UDP), new SocketFilter() {
                @Override public int dataIn(SocketAttachment a, SockAddr from, Mbuf data, Mbuf control, int flags) {
                    calls.add("in " + from + " " + text(data));
                    return 0;
                }
                @Override public int dataOut(SocketAttachment a, SockAddr to, Mbuf data, Mbuf control, int flags) {
                    calls.add("out " + to + " " + text(data));
                    return 0;
                }
            });
            try (TestSocket so = k.openUdp(5000)) {
                so.setOption(SocketConstants.SOL_SOCKET, SocketConstants.SO_NKE, 0xB0B);
                assertThat(so.socket().sockName()).isEqualTo(SockAddr.of(0, 5000));
                k.injectIp(Frames.udpPacket(k.peerIp(), k.ip(), 4000, 5000, "in".getBytes()));
                k.runPending();
                Datagram d = so.tryReceive();
                assertThat(d.from()).isEqualTo(SockAddr.of(k.peerIp(), 4000));
                assertThat(text(d.data())).isEqualTo("in");
                assertThat(so.tryReceive()).isNull();

                assertThat(so.send("out".getBytes(), SockAddr.of(k.peerIp(), 9))).isEqualTo(3);
                byte[] ip = k.readOutboundIp();
                assertThat(Frames.udpDstPort(ip)).isEqualTo(9);
                assertThat(text(Frames.udpPayload(ip))).isEqualTo("out");
            }
            String peer = Frames.format(k.peerIp());
            assertThat(calls).containsExactly("in " + peer + ":4000 in", "out " + peer + ":9 out");
        }
    }

    /** A datagram protocol without a wire format: it records what sockets send and keeps them to deliver to. */
    private static final class Loop implements ProtocolSwitch {
        final List<String> sent = new CopyOnWriteArrayList<>();
        final List<ProtocolSocket> sockets = new CopyOnWriteArrayList<>();

        @Override public int type() { return SocketConstants.SOCK_DGRAM; }
        @Override public int protocol() { return 200; }
        @Override public int attach(ProtocolSocket so) { sockets.add(so); return 0; }
        @Override public int send(ProtocolSocket so, Mbuf data, SockAddr to, int flags) {
            sent.add(to + " " + text(data));
            data.free();
            return 0;
        }
    }

    @Test void aSocketOfAnExtensionsProtocolSendsThroughItAndReceivesWhatItDelivers() throws Exception {
        try (EmbeddedKernel k = EmbeddedKernel.create()) {
            Kpi kpi = k.kpi("com.example.proto200");
            Loop proto = new Loop();
            kpi.domains().addProtocol(ProtocolFamily.PF_INET, proto);
            try (TestSocket so = k.openSocket(ProtocolFamily.PF_INET, SocketConstants.SOCK_DGRAM, 200)) {
                assertThat(so.socket().protocol()).isEqualTo(200);
                so.send("out".getBytes(), SockAddr.of(k.peerIp(), 9));
                assertThat(proto.sent).containsExactly(Frames.format(k.peerIp()) + ":9 out");

                Mbuf in = kpi.mbufs().allocate(2);
                in.setLength(2);
                in.copyBack(0, "in".getBytes(StandardCharsets.US_ASCII), 0, 2);
                assertThat(proto.sockets.getFirst().deliver(SockAddr.of(k.peerIp(), 9), in)).isZero();
                Datagram d = so.receive(5, TimeUnit.SECONDS);
                assertThat(d.from()).isEqualTo(SockAddr.of(k.peerIp(), 9));
                assertThat(text(d.data())).isEqualTo("in");
            }
            assertThatThrownBy(() -> k.openSocket(ProtocolFamily.PF_INET, SocketConstants.SOCK_DGRAM, 201))
                    .isInstanceOf(IOException.class).hasMessageStartingWith("EPROTONOSUPPORT");
        }
    }

    @Test void adminCommandsSetUpWhatAnOperatorWould() throws Exception {
        try (EmbeddedKernel k = EmbeddedKernel.create()) {
            assertThat(k.command("route add 10.5.0.0/16 10.0.0.2")).isEmpty();
            assertThat(k.command("netstat -r")).contains("10.5.0.0/16");
            assertThat(k.command("service udp-echo 7")).isEmpty();
            k.injectIp(Frames.udpPacket(Frames.ip("10.5.0.9"), k.ip(), 4000, 7, "echo".getBytes()));
            k.runPending();
            byte[] out = k.readOutboundIp();
            assertThat(Frames.ipDst(out)).as("answered through the route").isEqualTo(Frames.ip("10.5.0.9"));
            assertThat(text(Frames.udpPayload(out))).isEqualTo("echo");
            assertThatThrownBy(() -> k.command("route add 10.6.0.0/16 10.9.9.9")).isInstanceOf(IllegalArgumentException.class);
            assertThat(k.command("netstat -r")).doesNotContain("10.6.0.0");
        }
    }

    @Test void closeRemovesWhatTheExtensionLeftAndRunsItsFinalCallbacks() throws Exception {
        List<String> calls = new CopyOnWriteArrayList<>();
        EmbeddedKernel k = EmbeddedKernel.create();
        k.kpi("com.example.forgetful").ipFilters().addV4("left", Position.DEFAULT, new IpFilter() {
            @Override public void detached() { calls.add("detached"); }
        });
        assertThat(k.extension("com.example.forgetful").registrations()).hasSize(1);
        k.close();
        assertThat(calls).containsExactly("detached");
    }
}
