package org.kextnet.examples.enetlog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.control.ControlClient;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.testkit.Datagram;
import org.kextnet.testkit.EmbeddedKernel;
import org.kextnet.testkit.Frames;
import org.kextnet.testkit.TestSocket;

/**
 * enetlog in an embedded kernel on a manual clock: the lines it logs for frames in and out, watchers, swallow mode
 * (frames held until the callout re-injects them, in order, each logged once), the bounded ring, and the commands'
 * errors, which change nothing.
 */
class EnetLogTest {
    static final String KERNEL_MAC = "02:00:00:00:01:01", PEER_MAC = "02:00:00:00:02:01";
    static final String TIME = "\\d\\d:\\d\\d:\\d\\d\\.\\d{6} ";

    EmbeddedKernel k;
    EnetLog ext;
    ControlClient ctl;

    @BeforeEach void start() throws Exception {
        k = EmbeddedKernel.builder().ethernet("wire0", "10.0.0.1/24").manualClock().build();
        ext = new EnetLog();
        assertThat(ext.start(k.kpi(EnetLog.NAME))).isZero();
        ctl = k.connectControl(EnetLog.NAME, 0, true);
    }

    @AfterEach void stop() {
        ctl.close();
        k.close();
    }

    static String ask(ControlClient c, String command) throws InterruptedException {
        assertThat(c.send(ByteBuffer.wrap(command.getBytes(StandardCharsets.UTF_8)), 0)).isZero();
        return next(c);
    }

    static String next(ControlClient c) throws InterruptedException {
        ByteBuffer b = ByteBuffer.allocate(64 * 1024);
        int n = c.receive(b, 5, TimeUnit.SECONDS);
        assertThat(n).as("a message").isPositive();
        return new String(b.array(), 0, n, StandardCharsets.UTF_8);
    }

    void ping(int seq) {
        k.injectIp(Frames.ipv4(k.peerIp(), k.ip(), Frames.PROTO_ICMP, Frames.icmpEcho(7, seq, new byte[16])));
        k.runPending();
    }

    /** Moves time past the formatting callout's period, so every record so far is a line. */
    void format() {
        k.advanceTime(EnetLog.FORMAT_MILLIS, TimeUnit.MILLISECONDS);
    }

    @Test void oneLinePerFrameInAndOutWithTimeDirectionLengthMacsAndSummary() throws Exception {
        assertThat(ask(ctl, "attach wire0")).isEqualTo("attached to wire0");
        ping(1);
        assertThat(k.readOutboundIp()).as("the echo reply went out").isNotNull();
        format();
        String[] lines = ask(ctl, "show").split("\n");
        assertThat(lines).hasSize(2);
        assertThat(lines[0]).matches(TIME + "wire0 in  58 " + PEER_MAC + " > " + KERNEL_MAC
                + " IPv4 10.0.0.2 > 10.0.0.1 ICMP echo request id 7 seq 1");
        assertThat(lines[1]).matches(TIME + "wire0 out 58 " + KERNEL_MAC + " > " + PEER_MAC
                + " IPv4 10.0.0.1 > 10.0.0.2 ICMP echo reply id 7 seq 1");

        // ARP in and out, UDP with its ports, and an EtherType the kernel does not know.
        byte[] arp = ByteBuffer.allocate(28).putShort((short) 1).putShort((short) 0x0800).put((byte) 6).put((byte) 4)
                .putShort((short) 1).putShort((short) 0x0200).putInt(0x0000_0201).putInt(k.peerIp())
                .putShort((short) 0).putInt(0).putInt(k.ip()).array();
        k.injectInbound(Frames.ethernet(0xffff_ffff_ffffL, EmbeddedKernel.PEER_MAC + 1, Frames.ETHERTYPE_ARP, arp));
        k.injectIp(Frames.udpPacket(k.peerIp(), k.ip(), 4000, 9, "x".getBytes()));
        k.injectInbound(Frames.ethernet(EmbeddedKernel.KERNEL_MAC + 1, EmbeddedKernel.PEER_MAC + 1, 0x88b5, new byte[46]));
        k.runPending();
        k.drainOutbound("wire0");
        format();
        List<String> all = List.of(ask(ctl, "show").split("\n"));
        List<String> more = all.subList(2, all.size());
        assertThat(more.get(0)).matches(TIME + "wire0 in  42 " + PEER_MAC + " > ff:ff:ff:ff:ff:ff ARP who-has 10.0.0.1 tell 10.0.0.2");
        assertThat(more.get(1)).matches(TIME + "wire0 out 42 " + KERNEL_MAC + " > " + PEER_MAC + " ARP reply 10.0.0.1 is-at " + KERNEL_MAC);
        assertThat(more.get(2)).matches(TIME + "wire0 in  43 .* IPv4 10.0.0.2 > 10.0.0.1 UDP 4000 > 9");
        assertThat(more.get(3)).matches(TIME + "wire0 out 71 .* IPv4 10.0.0.1 > 10.0.0.2 ICMP unreachable code 3"); // port 9 is closed
        assertThat(more.get(4)).matches(TIME + "wire0 in  60 " + PEER_MAC + " > " + KERNEL_MAC + " 0x88b5");
        assertThat(more).hasSize(5);
        assertThat(ask(ctl, "stats")).startsWith("wire0 log in 4 out 3 ").endsWith("watchers 0, records lost 0, lines not sent to watchers 0");
        assertThat(k.leakedBuffers()).isZero();
    }

    @Test void aWatcherReceivesEachNewLineAsAMessage() throws Exception {
        ask(ctl, "attach wire0");
        try (ControlClient watcher = k.connectControl(EnetLog.NAME, 0, true)) {
            assertThat(ask(watcher, "watch")).isEqualTo("watching");
            ping(1);
            ping(2);
            k.drainOutbound("wire0");
            format();
            List<String> got = new ArrayList<>();
            for (int i = 0; i < 4; i++) got.add(next(watcher));
            assertThat(got).extracting(l -> l.replaceAll(".*ICMP ", "")).containsExactly(
                    "echo request id 7 seq 1", "echo reply id 7 seq 1", "echo request id 7 seq 2", "echo reply id 7 seq 2");
        }
        ping(3); // the watcher left: its unit is forgotten, nothing fails
        format();
        assertThat(ask(ctl, "show 1")).endsWith("echo reply id 7 seq 3");
    }

    @Test void swallowedFramesAreHeldAndReinjectedInOrderByTheCalloutEachLoggedOnce() throws Exception {
        ask(ctl, "attach wire0");
        assertThat(ask(ctl, "swallow wire0 5")).isEqualTo("swallowing on wire0, re-injecting every 5 ms");
        TestSocket so = k.openUdp(5000);
        for (int i = 0; i < 3; i++) k.injectIp(Frames.udpPacket(k.peerIp(), k.ip(), 4000, 5000, new byte[] {(byte) i}));
        for (int i = 0; i < 3; i++) so.send(new byte[] {(byte) (10 + i)}, SockAddr.of(k.peerIp(), 4000));
        k.runPending();
        assertThat(so.available()).as("held by the filter").isZero();
        assertThat(k.outboundCount("wire0")).as("held by the filter").isZero();

        k.advanceTime(5, TimeUnit.MILLISECONDS);
        k.runPending();
        for (int i = 0; i < 3; i++) {
            Datagram d = so.tryReceive();
            assertThat(d).as("datagram %d re-injected", i).isNotNull();
            assertThat(d.data()).containsExactly(i);
        }
        for (int i = 0; i < 3; i++) {
            byte[] ip = k.readOutboundIp();
            assertThat(ip).as("datagram %d re-injected on output", i).isNotNull();
            assertThat(Frames.udpPayload(ip)).containsExactly(10 + i);
        }
        format();
        assertThat(ask(ctl, "show").split("\n")).as("each frame logged once, when it was taken").hasSize(6);
        assertThat(ask(ctl, "stats")).startsWith("wire0 swallow (5 ms) in 3 out 3 held 6 reinjected 6 dropped 0");
        so.close();
        assertThat(k.leakedBuffers()).isZero();
    }

    @Test void detachingAndLogModeGiveBackWhatIsHeld() throws Exception {
        ask(ctl, "attach wire0");
        ask(ctl, "swallow wire0 1000");
        TestSocket so = k.openUdp(5000);
        k.injectIp(Frames.udpPacket(k.peerIp(), k.ip(), 4000, 5000, new byte[] {1}));
        k.runPending();
        assertThat(so.available()).isZero();
        assertThat(ask(ctl, "log wire0")).isEqualTo("logging on wire0");
        k.advanceTime(1000, TimeUnit.MILLISECONDS); // the release callout's period
        k.runPending();
        assertThat(so.tryReceive().data()).containsExactly(1);

        ask(ctl, "swallow wire0 1000");
        k.injectIp(Frames.udpPacket(k.peerIp(), k.ip(), 4000, 5000, new byte[] {2}));
        k.runPending();
        assertThat(ask(ctl, "detach wire0")).isEqualTo("detached from wire0");
        k.awaitDetached();
        k.runPending();
        assertThat(so.tryReceive().data()).as("re-injected by the detached callback").containsExactly(2);
        assertThat(ask(ctl, "stats")).isEqualTo("watchers 0, records lost 0, lines not sent to watchers 0");
        so.close();
        assertThat(k.leakedBuffers()).isZero();
    }

    @Test void aFullRingLosesRecordsCountedNotPackets() throws Exception {
        ask(ctl, "attach wire0");
        int frames = 8192 + 10;
        for (int i = 0; i < frames; i++) {
            k.injectInbound(Frames.ethernet(EmbeddedKernel.KERNEL_MAC + 1, EmbeddedKernel.PEER_MAC + 1, 0x88b5, new byte[46]));
            if (i % 1024 == 1023) k.runPending();
        }
        k.runPending();
        assertThat(ask(ctl, "stats")).startsWith("wire0 log in " + frames + " ").endsWith("watchers 0, records lost 10, lines not sent to watchers 0");
        format();
        assertThat(ask(ctl, "show 256").split("\n")).hasSize(256);
        assertThat(k.leakedBuffers()).isZero();
    }

    @Test void badCommandsAreRefusedAndChangeNothing() throws Exception {
        assertThat(ask(ctl, "attach nope0")).isEqualTo("error: ENXIO: no interface nope0");
        assertThat(ask(ctl, "detach wire0")).isEqualTo("error: ENOENT: not attached to wire0");
        assertThat(ask(ctl, "swallow")).startsWith("error: EINVAL: usage: attach IFACE");
        assertThat(ask(ctl, "frobnicate")).startsWith("error: EINVAL: usage:");
        assertThat(ask(ctl, "")).startsWith("error: EINVAL: usage:");
        ask(ctl, "attach wire0");
        assertThat(ask(ctl, "attach wire0")).isEqualTo("error: EEXIST: already attached to wire0");
        assertThat(ask(ctl, "swallow wire0 0")).isEqualTo("error: EINVAL: '0' is not a number from 1 to 10000");
        assertThat(ask(ctl, "show x")).isEqualTo("error: EINVAL: 'x' is not a number from 1 to 256");
        assertThat(ask(ctl, "stats")).startsWith("wire0 log in 0 out 0 ");
        assertThatThrownBy(() -> k.connectControl(EnetLog.NAME, 0, false)).as("what passes on a link is for privileged clients")
                .isInstanceOfSatisfying(KpiException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EPERM));
    }

    @Test void stopWaitsForClientsThenLeavesNothing() throws Exception {
        ask(ctl, "attach wire0");
        assertThat(ext.stop(k.extension(EnetLog.NAME))).isEqualTo(Errno.EBUSY);
        ctl.close();
        k.awaitDetached();
        assertThat(ext.stop(k.extension(EnetLog.NAME))).isZero();
        assertThat(k.extension(EnetLog.NAME).registrations()).isEmpty();
        ping(1); // the interface works on without the filter
        assertThat(k.readOutboundIp()).isNotNull();
    }
}
