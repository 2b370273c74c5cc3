package org.kextnet.examples.tunnel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.control.ControlClient;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.testkit.Counter;
import org.kextnet.testkit.Datagram;
import org.kextnet.testkit.EmbeddedKernel;
import org.kextnet.testkit.Frames;
import org.kextnet.testkit.TestSocket;

/**
 * Two embedded kernels joined by the test over their raw-IP links {@code wire0} (10.0.0.1 and 10.0.0.2), each with
 * the tunnel and a {@code ktun0} between them (10.9.0.1/30 and 10.9.0.2/30); the first forwards for a host behind
 * it on {@code lan} (10.1.0.2). Pings and datagrams cross the tunnel, in the format Linux's fou uses; what is not a
 * tunnel's is left alone, a malformed datagram is dropped, a routing loop is caught.
 */
class TunnelTest {
    EmbeddedKernel a, b;
    ControlClient ca, cb;
    final int lanHost = Frames.ip("10.1.0.2"), innerA = Frames.ip("10.9.0.1"), innerB = Frames.ip("10.9.0.2");

    @BeforeEach void start() throws Exception {
        a = EmbeddedKernel.builder().name("a").tun("wire0", "10.0.0.1/24").tun("lan", "10.1.0.1/24").forwarding(true).build();
        b = EmbeddedKernel.builder().name("b").tun("wire0", "10.0.0.2/24").build();
        assertThat(new Tunnel().start(a.kpi(Tunnel.NAME))).isZero();
        assertThat(new Tunnel().start(b.kpi(Tunnel.NAME))).isZero();
        ca = a.connectControl(Tunnel.NAME, 0, true);
        cb = b.connectControl(Tunnel.NAME, 0, true);
        assertThat(ask(ca, "create ktun0 local 10.0.0.1 remote 10.0.0.2")).isEqualTo("ktun0 local 10.0.0.1:5555 remote 10.0.0.2:5555 mtu 1472");
        assertThat(ask(cb, "create ktun0 local 10.0.0.2 remote 10.0.0.1")).isEqualTo("ktun0 local 10.0.0.2:5555 remote 10.0.0.1:5555 mtu 1472");
        a.command("ifconfig ktun0 inet 10.9.0.1/30");
        b.command("ifconfig ktun0 inet 10.9.0.2/30");
        b.command("route add 10.1.0.0/24 -interface ktun0");
    }

    @AfterEach void stop() {
        ca.close();
        cb.close();
        a.close();
        b.close();
    }

    static String ask(ControlClient c, String command) throws InterruptedException {
        assertThat(c.send(ByteBuffer.wrap(command.getBytes(StandardCharsets.UTF_8)), 0)).isZero();
        ByteBuffer buf = ByteBuffer.allocate(8192);
        int n = c.receive(buf, 5, TimeUnit.SECONDS);
        assertThat(n).isPositive();
        return new String(buf.array(), 0, n, StandardCharsets.UTF_8);
    }

    /** Runs both kernels and carries what each sends on wire0 to the other, until nothing moves. */
    void shuttle() {
        boolean moved;
        do {
            moved = false;
            a.runPending();
            b.runPending();
            for (byte[] f : a.drainOutbound("wire0")) {
                b.injectInbound("wire0", f);
                moved = true;
            }
            for (byte[] f : b.drainOutbound("wire0")) {
                a.injectInbound("wire0", f);
                moved = true;
            }
        } while (moved);
    }

    @Test void aPingFromBehindOneKernelCrossesTheTunnelAndComesBack() throws Exception {
        byte[] echo = Frames.ipv4(lanHost, innerB, Frames.PROTO_ICMP, Frames.icmpEcho(5, 1, new byte[32]));
        a.injectIp("lan", echo);
        a.runPending();
        // On the wire: IPv4 and UDP 5555 -> 5555, and inside exactly the forwarded packet (its TTL one less).
        byte[] outer = a.readOutboundIp("wire0");
        assertThat(Frames.ipSrc(outer)).isEqualTo(Frames.ip("10.0.0.1"));
        assertThat(Frames.ipDst(outer)).isEqualTo(Frames.ip("10.0.0.2"));
        assertThat(Frames.ipProtocol(outer)).isEqualTo(Frames.PROTO_UDP);
        assertThat(Frames.ipChecksumValid(outer)).isTrue();
        assertThat(Frames.udpSrcPort(outer)).isEqualTo(5555);
        assertThat(Frames.udpDstPort(outer)).isEqualTo(5555);
        byte[] inner = Frames.udpPayload(outer);
        assertThat(inner).hasSize(echo.length);
        assertThat(Frames.ipTtl(inner)).isEqualTo(63);
        assertThat(Arrays.copyOfRange(inner, 12, inner.length)).isEqualTo(Arrays.copyOfRange(echo, 12, echo.length));

        b.injectInbound("wire0", outer);
        shuttle();
        byte[] reply = a.readOutboundIp("lan");
        assertThat(reply).as("the echo reply, back through the tunnel and forwarded to the host").isNotNull();
        assertThat(Frames.ipSrc(reply)).isEqualTo(innerB);
        assertThat(Frames.ipDst(reply)).isEqualTo(lanHost);
        assertThat(reply[20]).as("echo reply").isEqualTo((byte) 0);
        assertThat(ask(ca, "list")).isEqualTo("ktun0 local 10.0.0.1:5555 remote 10.0.0.2:5555 mtu 1472: out 1 packets 60 bytes,"
                + " in 1 packets 60 bytes, dropped 0, loops 0");
        assertThat(a.leakedBuffers()).isZero();
        assertThat(b.leakedBuffers()).isZero();
    }

    @Test void datagramsBothWaysAndOneLargerThanTheTunnelsMtu() throws Exception {
        try (TestSocket sa = a.openUdp(6000); TestSocket sb = b.openUdp(7000)) {
            sa.send("over".getBytes(), SockAddr.of(innerB, 7000));
            byte[] big = new byte[3000];
            for (int i = 0; i < big.length; i++) big[i] = (byte) i;
            sa.send(big, SockAddr.of(innerB, 7000)); // three fragments inside, each in a datagram of its own
            shuttle();
            Datagram d = sb.tryReceive();
            assertThat(new String(d.data(), StandardCharsets.US_ASCII)).isEqualTo("over");
            assertThat(d.from().ipv4()).isEqualTo(innerA);
            assertThat(sb.tryReceive().data()).isEqualTo(big);
            sb.send("back".getBytes(), SockAddr.of(innerA, 6000));
            shuttle();
            assertThat(new String(sa.tryReceive().data(), StandardCharsets.US_ASCII)).isEqualTo("back");
        }
        assertThat(ask(cb, "list")).contains("in 4 packets").contains("out 1 packets");
    }

    @Test void whatIsNotATunnelsIsLeftAloneAndAMalformedOneIsDropped() throws Exception {
        try (TestSocket s = b.openUdp(5556)) {
            // From another source to the tunnel's port: an ordinary datagram, not decapsulated.
            b.injectIp("wire0", Frames.udpPacket(Frames.ip("10.0.0.3"), Frames.ip("10.0.0.2"), 5555, 5555, "not mine".getBytes()));
            // To another port: an ordinary datagram.
            b.injectIp("wire0", Frames.udpPacket(Frames.ip("10.0.0.1"), Frames.ip("10.0.0.2"), 5555, 5556, "hello".getBytes()));
            // From the other end to the tunnel's port, but no IPv4 inside: dropped.
            b.injectIp("wire0", Frames.udpPacket(Frames.ip("10.0.0.1"), Frames.ip("10.0.0.2"), 5555, 5555, "garbage!".getBytes()));
            b.runPending();
            assertThat(new String(s.tryReceive().data(), StandardCharsets.US_ASCII)).isEqualTo("hello");
        }
        assertThat(b.stat(Counter.IP_FILTERED)).isEqualTo(1);
        assertThat(ask(cb, "list")).endsWith("in 0 packets 0 bytes, dropped 1, loops 0");
        b.drainOutbound("wire0"); // the port unreachable for the first
        assertThat(b.leakedBuffers()).isZero();
    }

    @Test void anOuterPacketRoutedIntoATunnelIsALoopAndIsDropped() throws Exception {
        a.command("route add 10.0.0.2/32 -interface ktun0"); // the other end through the tunnel itself
        try (TestSocket s = a.openUdp(0)) {
            s.send("round".getBytes(), SockAddr.of(innerB, 7000));
        } catch (java.io.IOException e) {
            assertThat(e).hasMessageContaining("EHOSTUNREACH"); // if the socket reports the interface's error
        }
        a.runPending();
        assertThat(a.outboundCount("wire0")).isZero();
        assertThat(ask(ca, "list")).endsWith("dropped 0, loops 1");
        a.command("route delete 10.0.0.2/32");
        assertThat(a.leakedBuffers()).isZero();
    }

    @Test void refusalsSayWhyAndChangeNothing() throws Exception {
        assertThat(ask(ca, "create ktun1 local 10.0.0.99 remote 10.0.0.2")).isEqualTo("error: EADDRNOTAVAIL: 10.0.0.99 is not an address of this host");
        assertThat(ask(ca, "create ktun0 local 10.0.0.1 remote 10.0.0.5")).isEqualTo("error: EEXIST: ktun0 exists");
        assertThat(ask(ca, "create ktun1 local 10.0.0.1 remote 10.0.0.2")).isEqualTo("error: EEXIST: ktun0 has the same ends and port");
        assertThat(ask(ca, "create tun9 local 10.0.0.1 remote 10.0.0.2")).isEqualTo("error: EINVAL: a tunnel is named ktunN (N 0..255)");
        assertThat(ask(ca, "create ktun1 local 10.0.0.1")).isEqualTo("error: EINVAL: create needs 'local A.B.C.D' and 'remote A.B.C.D'");
        assertThat(ask(ca, "create ktun1 local 10.0.0.1 remote 10.0.0.300")).isEqualTo("error: EINVAL: '10.0.0.300' is not an IPv4 address");
        assertThat(ask(ca, "create ktun1 local 10.0.0.1 remote 10.0.0.3 mtu 40")).isEqualTo("error: EINVAL: '40' is not an MTU (68..65507)");
        assertThat(ask(ca, "create ktun1 local 10.0.0.1 remote 10.0.0.3 colour red")).startsWith("error: EINVAL: unknown option 'colour'");
        assertThat(ask(ca, "destroy ktun7")).isEqualTo("error: ENOENT: no tunnel ktun7");
        assertThat(ask(ca, "dig")).startsWith("error: EINVAL: usage: create ktunN");
        assertThat(ask(ca, "list")).startsWith("ktun0 ").doesNotContain("ktun1");
        assertThat(a.command("ifconfig")).doesNotContain("ktun1");
        assertThatThrownBy(() -> a.connectControl(Tunnel.NAME, 0, false))
                .isInstanceOfSatisfying(KpiException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EPERM));
    }

    @Test void destroyingATunnelTakesItsInterfaceAndRoutesAway() throws Exception {
        assertThat(a.command("ifconfig ktun0")).contains("10.9.0.1");
        assertThat(a.extension(Tunnel.NAME).registrations()).extracting(r -> r.kind() + " " + r.name())
                .as("IPv4 on ktun0 is the sample's own plumbing: a plumber for GIF interfaces and the attachment it made")
                .containsExactlyInAnyOrder("plumber inet/gif", "proto ktun0:inet", "ifnet ktun0", "ipfilter tunnel", "kctl tunnel");
        assertThat(ask(ca, "destroy ktun0")).isEqualTo("destroyed ktun0");
        a.awaitDetached();
        assertThat(a.extension(Tunnel.NAME).interfaces().findByName("ktun0")).isNull();
        assertThat(a.command("netstat -r")).doesNotContain("ktun0");
        assertThat(ask(ca, "list")).isEqualTo("no tunnels");
        // The same name again, with other ends.
        assertThat(ask(ca, "create ktun0 local 10.0.0.1 remote 10.0.0.9 port 6000")).isEqualTo("ktun0 local 10.0.0.1:6000 remote 10.0.0.9:6000 mtu 1472");
    }
}
