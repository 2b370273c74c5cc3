package org.kextnet.examples.firewall;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.control.ControlClient;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.kpi.socket.SocketConstants;
import org.kextnet.testkit.Counter;
import org.kextnet.testkit.EmbeddedKernel;
import org.kextnet.testkit.Frames;
import org.kextnet.testkit.TestSocket;

/**
 * The firewall in an embedded kernel with two links (wire0 10.0.0.1/24, wire1 10.1.0.1/24, forwarding on): rules by
 * every field, in both directions and on forwarded packets, the counters, whole-set replacement (a set with a mistake
 * changes nothing), and sets replaced under a stream of packets.
 */
class FirewallTest {
    EmbeddedKernel k;
    Firewall fw;
    ControlClient ctl;
    final int peer0 = Frames.ip("10.0.0.2"), peer1 = Frames.ip("10.1.0.2");

    @BeforeEach void start() throws Exception {
        k = EmbeddedKernel.builder().ethernet("wire0", "10.0.0.1/24").ethernet("wire1", "10.1.0.1/24").forwarding(true).build();
        fw = new Firewall();
        assertThat(fw.start(k.kpi(Firewall.NAME))).isZero();
        ctl = k.connectControl(Firewall.NAME, 0, true);
    }

    @AfterEach void stop() {
        ctl.close();
        k.close();
    }

    String ask(String message) throws InterruptedException {
        assertThat(ctl.send(ByteBuffer.wrap(message.getBytes(StandardCharsets.UTF_8)), 0)).isZero();
        ByteBuffer b = ByteBuffer.allocate(Firewall.MAX_TEXT);
        int n = ctl.receive(b, 5, TimeUnit.SECONDS);
        assertThat(n).isPositive();
        return new String(b.array(), 0, n, StandardCharsets.UTF_8);
    }

    String load(String rules) throws InterruptedException {
        return ask("load\n" + rules);
    }

    /** A UDP datagram from {@code src} on {@code link} to this host; returns whether the socket on {@code port} got it. */
    boolean udpIn(String link, int src, int port, TestSocket so) throws IOException {
        k.injectIp(link, Frames.udpPacket(src, k.link(link).kernelIp(), 4000, port, "x".getBytes()));
        k.runPending();
        k.discardOutbound(link); // ICMP errors for closed ports
        return so.tryReceive() != null;
    }

    /** A ping from the peer on {@code link}: whether its reply went out. */
    boolean ping(String link) {
        EmbeddedKernel.Link l = k.link(link);
        k.injectIp(link, Frames.ipv4(l.peerIp(), l.kernelIp(), Frames.PROTO_ICMP, Frames.icmpEcho(1, 1, new byte[8])));
        k.runPending();
        return k.readOutboundIp(link) != null;
    }

    @Test void theTasksExampleBlocksDnsInToTenSlashEightAndCountsIt() throws Exception {
        assertThat(load("block in proto udp to 10.0.0.0/8 port 53\nallow out all\n")).isEqualTo("loaded rule set 1: 2 rules, default allow");
        try (TestSocket dns = k.openUdp(53); TestSocket other = k.openUdp(54)) {
            assertThat(udpIn("wire0", peer0, 53, dns)).isFalse();
            assertThat(udpIn("wire0", peer0, 53, dns)).isFalse();
            assertThat(udpIn("wire0", peer0, 54, other)).isTrue();
        }
        assertThat(ping("wire0")).isTrue();
        assertThat(k.stat(Counter.IP_FILTERED)).isEqualTo(2);
        assertThat(ask("show")).isEqualTo("""
                # rule set 1: 2 rules; packets and bytes since it was loaded
                block in proto udp to 10.0.0.0/8 port 53   # 2 packets, 58 bytes
                allow out all                              # 1 packets, 36 bytes
                default allow                              # 2 packets, 65 bytes
                """);
        assertThat(k.leakedBuffers()).isZero();
    }

    @Test void outboundRulesStopWhatThisHostSends() throws Exception {
        load("block out proto udp to 10.0.0.2 port 9\n");
        try (TestSocket so = k.openUdp(0)) {
            assertThatThrownBy(() -> so.send("no".getBytes(), SockAddr.of(peer0, 9))).as("the sender gets the filter's error")
                    .isInstanceOf(IOException.class).hasMessageContaining("EPERM");
            so.send("yes".getBytes(), SockAddr.of(peer0, 10));
        }
        byte[] out = k.readOutboundIp("wire0");
        assertThat(Frames.udpDstPort(out)).isEqualTo(10);
        assertThat(k.readOutboundIp("wire0")).isNull();
        assertThat(ask("show")).contains("block out proto udp to 10.0.0.2 port 9   # 1 packets, 30 bytes");
    }

    @Test void rulesByInterfaceSourcePrefixProtocolAndPortRange() throws Exception {
        load("""
                block in on wire1 proto icmp all
                block in proto udp from 10.0.0.0/25 port 4000-4001 to any port 7000-7999
                block in proto 17 from 10.0.0.200
                """);
        assertThat(ping("wire0")).as("icmp on wire0").isTrue();
        assertThat(ping("wire1")).as("icmp on wire1").isFalse();
        try (TestSocket so = k.openUdp(7100)) {
            assertThat(udpIn("wire0", peer0, 7100, so)).as("10.0.0.2:4000 to 7100").isFalse();
            assertThat(udpIn("wire0", Frames.ip("10.0.0.130"), 7100, so)).as("outside the /25").isTrue();
            assertThat(udpIn("wire0", Frames.ip("10.0.0.200"), 7100, so)).as("the host rule").isFalse();
        }
        try (TestSocket so = k.openUdp(8000)) {
            assertThat(udpIn("wire0", peer0, 8000, so)).as("above the port range").isTrue();
        }
    }

    @Test void forwardedPacketsMeetOutboundRulesWithTheInterfaceTheyCameIn() throws Exception {
        load("block out on wire0 proto udp to 10.1.0.0/24 port 9\n");
        k.injectIp("wire0", Frames.udpPacket(peer0, peer1, 4000, 9, "a".getBytes()));   // wire0 -> wire1: blocked
        k.injectIp("wire1", Frames.udpPacket(peer1, peer0, 4000, 9, "b".getBytes()));   // wire1 -> wire0: passes
        k.injectIp("wire0", Frames.udpPacket(peer0, peer1, 4000, 10, "c".getBytes()));  // another port: passes
        k.runPending();
        assertThat(Frames.udpPayload(k.readOutboundIp("wire1"))).containsExactly('c');
        assertThat(Frames.udpPayload(k.readOutboundIp("wire0"))).containsExactly('b');
        assertThat(k.stat(Counter.IP_FORWARDED)).isEqualTo(2);
        assertThat(k.stat(Counter.IP_FILTERED)).isEqualTo(1);
    }

    @Test void defaultBlockWithExceptions() throws Exception {
        load("default block\nallow proto icmp all\n");
        assertThat(ping("wire0")).isTrue();
        try (TestSocket so = k.openUdp(7)) {
            assertThat(udpIn("wire0", peer0, 7, so)).isFalse();
        }
        assertThat(ask("show")).endsWith("default block          # 1 packets, 29 bytes\n");
    }

    @Test void aSetWithAMistakeIsRefusedWholeAndTheOldOneStays() throws Exception {
        load("block in proto udp to any port 53\n");
        String before = ask("show");
        assertThat(load("allow in all\nblock in proto udp to any port 54\nblock in proto udp to any port 1-2-3\n"))
                .isEqualTo("error: EINVAL: line 3: '2-3' is not a port (0..65535)");
        assertThat(ask("check\nallow in all\nblok\n")).isEqualTo("error: EINVAL: line 2: expected allow, block or default");
        assertThat(ask("show")).as("not one line of the refused set applies").isEqualTo(before);
        try (TestSocket so53 = k.openUdp(53); TestSocket so54 = k.openUdp(54)) {
            assertThat(udpIn("wire0", peer0, 53, so53)).isFalse();
            assertThat(udpIn("wire0", peer0, 54, so54)).isTrue();
        }
        assertThat(ask("check\nallow in all\n")).isEqualTo("ok: 1 rule, default allow");
        assertThat(ask("show")).startsWith("# rule set 1: 1 rule;");
        assertThat(ask("reload")).isEqualTo("error: EINVAL: unknown command 'reload' (show, load, check, flush, zero)");
        assertThatThrownBy(() -> k.connectControl(Firewall.NAME, 0, false)).as("the rules are for privileged clients")
                .isInstanceOfSatisfying(KpiException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EPERM));
    }

    @Test void showReadsBackAsTheSameSetAndFlushAndZeroDoWhatTheySay() throws Exception {
        load("block in proto udp from 10.0.0.0/8 port 1-1023 to any port 53 # comment\nallow out all\ndefault block\n");
        ping("wire0");
        String shown = ask("show");
        assertThat(load(shown)).isEqualTo("loaded rule set 2: 2 rules, default block");
        assertThat(ask("show").lines().skip(1).map(l -> l.replaceAll("#.*", "").strip()).toList())
                .isEqualTo(shown.lines().skip(1).map(l -> l.replaceAll("#.*", "").strip()).toList());
        ping("wire0");
        assertThat(ask("show")).containsPattern("\ndefault block +# 1 packets, 36 bytes\n");
        assertThat(ask("zero")).isEqualTo("counters zeroed (rule set 2)");
        assertThat(ask("show")).doesNotContain("# 1 packets").contains("allow out all");
        assertThat(ask("flush")).isEqualTo("flushed: rule set 3 has no rules, default allow");
        assertThat(ask("show")).isEqualTo("# rule set 3: 0 rules; packets and bytes since it was loaded\ndefault allow   # 0 packets, 0 bytes\n");
        assertThat(ping("wire0")).isTrue();
    }

    /**
     * A reader thread carries a stream of datagrams while another thread replaces the set at least 200 times,
     * alternating between one that blocks port 5000 and one that blocks port 6000: every datagram is judged by a
     * whole set, either delivered or counted as filtered, none lost and no fault.
     */
    @Test void setsReplacedUnderAStreamOfPackets() throws Exception {
        try (EmbeddedKernel t = EmbeddedKernel.builder().ethernet("wire0", "10.0.0.1/24").threaded(true).build()) {
            Firewall f = new Firewall();
            assertThat(f.start(t.kpi(Firewall.NAME))).isZero();
            int sent = 4000;
            try (TestSocket a = t.openUdp(5000); TestSocket b = t.openUdp(6000)) {
                a.setOption(SocketConstants.SOL_SOCKET, SocketConstants.SO_RCVBUF, sent); // room for all of them
                b.setOption(SocketConstants.SOL_SOCKET, SocketConstants.SO_RCVBUF, sent);
                AtomicBoolean done = new AtomicBoolean();
                CompletableFuture<Long> replacer = CompletableFuture.supplyAsync(() -> {
                    long sets = 0;
                    while (!done.get() || sets < 200) {
                        f.command("load\nblock in proto udp to any port " + (sets % 2 == 0 ? 5000 : 6000) + "\n");
                        sets++;
                    }
                    return sets;
                });
                for (int i = 0; i < sent; i++) t.injectIp(Frames.udpPacket(t.peerIp(), t.ip(), 4000, i % 2 == 0 ? 5000 : 6000, new byte[] {1}));
                done.set(true);
                assertThat(replacer.get(30, TimeUnit.SECONDS)).isGreaterThanOrEqualTo(200);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (t.stat(Counter.IP_DELIVERED) + t.stat(Counter.IP_FILTERED) < sent && System.nanoTime() < deadline) Thread.sleep(5);
                assertThat(t.stat(Counter.IP_DELIVERED) + t.stat(Counter.IP_FILTERED)).as(t.statistics()).isEqualTo(sent);
                long delivered = 0;
                while (a.tryReceive() != null) delivered++;
                while (b.tryReceive() != null) delivered++;
                assertThat(delivered).isEqualTo(t.stat(Counter.IP_DELIVERED));
                assertThat(t.stat(Counter.IP_FILTERED)).as("each set blocks one of the two ports").isPositive();
                assertThat(t.stat(Counter.NKE_FAULTS)).isZero();
            }
        }
    }

    @Test void stopWaitsForClientsThenLeavesNothing() throws Exception {
        assertThat(fw.stop(k.extension(Firewall.NAME))).isEqualTo(Errno.EBUSY);
        ctl.close();
        k.awaitDetached();
        assertThat(fw.stop(k.extension(Firewall.NAME))).isZero();
        assertThat(k.extension(Firewall.NAME).registrations()).isEmpty();
    }
}
