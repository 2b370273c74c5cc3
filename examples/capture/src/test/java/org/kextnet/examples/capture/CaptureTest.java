package org.kextnet.examples.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.control.ControlClient;
import org.kextnet.testkit.EmbeddedKernel;
import org.kextnet.testkit.Frames;
import org.kextnet.testkit.TestSocket;

/**
 * capture in an embedded kernel on a manual clock, file writes on the test's thread: pcapng that tshark reads
 * (frames, lengths, snap length, directions, interface, link types), rotation, the filter language on live watchers,
 * drops when nobody takes the copies, and refusals that change nothing.
 */
class CaptureTest {
    static final String KERNEL_MAC = "02:00:00:00:01:01", PEER_MAC = "02:00:00:00:02:01";
    static final String TIME = "\\d\\d:\\d\\d:\\d\\d\\.\\d{6} ";

    @TempDir Path dir;
    EmbeddedKernel k;
    Capture ext;
    ControlClient ctl;

    @BeforeEach void start() throws Exception {
        k = EmbeddedKernel.builder().ethernet("wire0", "10.0.0.1/24").manualClock().build();
        ext = new Capture(Runnable::run);
        assertThat(ext.start(k.kpi(Capture.NAME))).isZero();
        ctl = k.connectControl(Capture.NAME, 0, true);
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
        ByteBuffer b = ByteBuffer.allocate(256 * 1024);
        int n = c.receive(b, 5, TimeUnit.SECONDS);
        assertThat(n).as("a message").isPositive();
        return new String(b.array(), 0, n, StandardCharsets.UTF_8);
    }

    /** Runs the pump callout: copies go to the files (on this thread) and the watchers. */
    void pump() {
        k.advanceTime(Capture.PUMP_MILLIS, TimeUnit.MILLISECONDS);
    }

    void ping(int seq) {
        k.injectIp(Frames.ipv4(k.peerIp(), k.ip(), Frames.PROTO_ICMP, Frames.icmpEcho(7, seq, new byte[16])));
        k.runPending();
        k.drainOutbound("wire0");
    }

    void udp(int port, int bytes) {
        k.injectIp(Frames.udpPacket(k.peerIp(), k.ip(), 4000, port, new byte[bytes]));
        k.runPending();
        k.drainOutbound("wire0");
    }

    @Test void aFileSessionWritesPcapngThatTsharkReads() throws Exception {
        Tshark.require();
        Path f = dir.resolve("cap.pcapng");
        assertThat(ask(ctl, "start wire0 file " + f + " snaplen 100")).isEqualTo("session 1 on wire0 (snaplen 100) to " + f);
        TestSocket so = k.openUdp(7000);
        ping(1);
        udp(7000, 500);
        pump();
        assertThat(ask(ctl, "list")).isEqualTo("1 wire0 file " + f + " snaplen 100: 3 captured, 0 dropped, 3 written in 1 file: " + f);
        ping(2);
        assertThat(ask(ctl, "stop 1")).as("the reply comes once the file is closed")
                .isEqualTo("session 1 stopped: 5 captured, 0 dropped, 5 written in 1 file: " + f);
        assertThat(ask(ctl, "list")).isEqualTo("no sessions");

        List<List<String>> rows = Tshark.fields(f, "frame.interface_name", "frame.packet_flags_direction", "frame.len", "frame.cap_len",
                "eth.src", "eth.dst", "ip.src", "ip.dst", "icmp.type", "udp.dstport");
        assertThat(rows).containsExactly(
                List.of("wire0", "0x00000001", "58", "58", PEER_MAC, KERNEL_MAC, "10.0.0.2", "10.0.0.1", "8", ""),
                List.of("wire0", "0x00000002", "58", "58", KERNEL_MAC, PEER_MAC, "10.0.0.1", "10.0.0.2", "0", ""),
                List.of("wire0", "0x00000001", "542", "100", PEER_MAC, KERNEL_MAC, "10.0.0.2", "10.0.0.1", "", "7000"),
                List.of("wire0", "0x00000001", "58", "58", PEER_MAC, KERNEL_MAC, "10.0.0.2", "10.0.0.1", "8", ""),
                List.of("wire0", "0x00000002", "58", "58", KERNEL_MAC, PEER_MAC, "10.0.0.1", "10.0.0.2", "0", ""));
        assertThat(so.tryReceive().data()).as("capture only watched").hasSize(500);
        so.close();
        assertThat(k.leakedBuffers()).isZero();
    }

    @Test void rawIpLinksAreWrittenAsLinktypeRaw() throws Exception {
        Tshark.require();
        try (EmbeddedKernel t = EmbeddedKernel.builder().tun("tun0", "10.9.0.1/24").manualClock().build()) {
            Capture c = new Capture(Runnable::run);
            c.start(t.kpi(Capture.NAME));
            try (ControlClient cc = t.connectControl(Capture.NAME, 0, true)) {
                Path f = dir.resolve("tun.pcapng");
                ask(cc, "start tun0 file " + f);
                t.injectIp(Frames.ipv4(t.peerIp(), t.ip(), Frames.PROTO_ICMP, Frames.icmpEcho(3, 9, new byte[8])));
                t.runPending();
                t.drainOutbound("tun0");
                t.advanceTime(Capture.PUMP_MILLIS, TimeUnit.MILLISECONDS);
                assertThat(ask(cc, "stop 1")).startsWith("session 1 stopped: 2 captured");
                assertThat(Tshark.fields(f, "frame.len", "ip.src", "ip.dst", "icmp.type", "icmp.seq")).containsExactly(
                        List.of("36", "10.9.0.2", "10.9.0.1", "8", "9"),
                        List.of("36", "10.9.0.1", "10.9.0.2", "0", "9"));
            }
        }
    }

    @Test void filesRotateBySizeAndTheOldestGoBeyondTheirNumber() throws Exception {
        Tshark.require();
        Path f = dir.resolve("r.pcapng");
        ask(ctl, "start wire0 file " + f + " rotate 4096 files 2 filter udp");
        for (int i = 0; i < 45; i++) udp(9, 300); // 388 bytes per block after 104 of headers: ten a file
        pump();
        String stopped = ask(ctl, "stop 1");
        assertThat(stopped).startsWith("session 1 stopped: 45 captured, 0 dropped, 45 written in 5 files: " + f + " ");
        List<Path> kept = List.of(dir.resolve("r-3.pcapng"), dir.resolve("r-4.pcapng"));
        assertThat(Files.exists(f)).as("the oldest was deleted").isFalse();
        assertThat(Files.exists(dir.resolve("r-2.pcapng"))).isFalse();
        int total = 0;
        for (Path p : kept) {
            assertThat(Files.size(p)).isLessThanOrEqualTo(4096);
            List<List<String>> rows = Tshark.fields(p, "frame.len", "udp.dstport");
            assertThat(rows).allSatisfy(r -> assertThat(r).containsExactly("342", "9"));
            total += rows.size();
        }
        assertThat(total).as("the last two files hold the last frames").isEqualTo(15);
    }

    @Test void watchersGetALinePerFrameOfTheirFilter() throws Exception {
        try (ControlClient w = k.connectControl(Capture.NAME, 0, true); TestSocket s53 = k.openUdp(53); TestSocket s54 = k.openUdp(54)) {
            assertThat(ask(w, "watch wire0 snaplen 96 filter (udp and port 53) or (icmp and !host 10.0.1.9)"))
                    .isEqualTo("watching on wire0 (snaplen 96, filter \"( udp and port 53 ) or ( icmp and ! host 10.0.1.9 )\")");
            udp(53, 2);
            udp(54, 2);
            ping(1);
            // Off the link's subnet, so its reply has no route (and waits for no ARP); its request the filter keeps out.
            k.injectIp(Frames.ipv4(Frames.ip("10.0.1.9"), k.ip(), Frames.PROTO_ICMP, Frames.icmpEcho(7, 2, new byte[16])));
            k.runPending();
            k.drainOutbound("wire0");
            pump();
            List<String> lines = new ArrayList<>();
            for (int i = 0; i < 3; i++) lines.add(next(w));
            assertThat(lines.get(0)).matches(TIME + "wire0 in  IP 10.0.0.2.4000 > 10.0.0.1.53: UDP, length 2");
            assertThat(lines.get(1)).matches(TIME + "wire0 in  IP 10.0.0.2 > 10.0.0.1: ICMP echo request, id 7, seq 1, length 24");
            assertThat(lines.get(2)).matches(TIME + "wire0 out IP 10.0.0.1 > 10.0.0.2: ICMP echo reply, id 7, seq 1, length 24");
            assertThat(ask(ctl, "list")).isEqualTo("1 wire0 watch (unit " + 2 + ") snaplen 96 filter \"( udp and port 53 ) or ( icmp and ! host 10.0.1.9 )\":"
                    + " 3 captured, 0 dropped, 3 sent, 0 not sent");
        }
        k.awaitDetached();
        assertThat(ask(ctl, "list")).as("a watch ends with its connection").isEqualTo("no sessions");
        assertThat(k.leakedBuffers()).isZero();
    }

    @Test void theFilterLanguage() throws Exception {
        String[][] cases = {
                {"arp", "ARP"}, {"ip", "IP"}, {"not ip", "ARP"}, {"src host 10.0.0.2", "IP 10.0.0.2"}, {"dst host 10.0.0.2", "IP 10.0.0.1"},
                {"net 10.0.0.0/24 and udp", "UDP"}, {"src port 4000", "UDP"}, {"dst port 9", "UDP"}, {"port 4000", "UDP"}, {"proto 17", "UDP"}};
        for (String[] c : cases) {
            try (ControlClient w = k.connectControl(Capture.NAME, 0, true)) {
                ask(w, "watch wire0 filter " + c[0]);
                udp(9, 1); // UDP in, ICMP port unreachable out
                byte[] arp = ByteBuffer.allocate(28).putShort((short) 1).putShort((short) 0x0800).put((byte) 6).put((byte) 4)
                        .putShort((short) 1).putShort((short) 0x0200).putInt(0x0000_0201).putInt(k.peerIp())
                        .putShort((short) 0).putInt(0).putInt(k.ip()).array();
                k.injectInbound(Frames.ethernet(0xffff_ffff_ffffL, EmbeddedKernel.PEER_MAC + 1, Frames.ETHERTYPE_ARP, arp));
                k.runPending();
                k.drainOutbound("wire0");
                pump();
                String first = next(w);
                assertThat(first).as(c[0]).contains(c[1]);
            }
            k.awaitDetached();
        }
    }

    @Test void copiesNobodyTakesAreDroppedAndCountedNotTheTraffic() throws Exception {
        ControlClient w = k.connectControl(Capture.NAME, 0, true);
        ask(w, "watch wire0");
        for (int i = 0; i < Session.QUEUE + 44; i++) {
            k.injectInbound(Frames.ethernet(EmbeddedKernel.KERNEL_MAC + 1, EmbeddedKernel.PEER_MAC + 1, 0x88b5, new byte[46]));
        }
        k.runPending(); // no pump: nothing takes the copies
        assertThat(ask(ctl, "list")).endsWith(": " + Session.QUEUE + " captured, 44 dropped, 0 sent, 0 not sent");
        w.close();
        k.awaitDetached();
        assertThat(k.leakedBuffers()).as("the queued copies were freed").isZero();
    }

    @Test void refusalsSayWhyAndChangeNothing() throws Exception {
        assertThat(ask(ctl, "watch nope0")).isEqualTo("error: ENXIO: no interface nope0");
        assertThat(ask(ctl, "watch wire0 snaplen 10")).isEqualTo("error: EINVAL: '10' is not a snap length (64..65535)");
        assertThat(ask(ctl, "watch wire0 filter udp and")).isEqualTo("error: EINVAL: expected a filter primitive (ip, arp, icmp, udp, tcp, proto, host, net, port) at the end of the filter");
        assertThat(ask(ctl, "watch wire0 filter host 10.0.0")).isEqualTo("error: EINVAL: '10.0.0' is not an IPv4 address");
        assertThat(ask(ctl, "watch wire0 filter (udp")).isEqualTo("error: EINVAL: expected ')' in the filter");
        assertThat(ask(ctl, "watch wire0 filter udp udp")).isEqualTo("error: EINVAL: unexpected 'udp' in the filter");
        assertThat(ask(ctl, "watch wire0 file /tmp/x")).isEqualTo("error: EINVAL: unknown option 'file' (snaplen, filter)");
        assertThat(ask(ctl, "start wire0 file rel.pcapng")).isEqualTo("error: EINVAL: 'rel.pcapng' is not an absolute path");
        assertThat(ask(ctl, "start wire0")).isEqualTo("error: EINVAL: start needs 'file PATH'");
        assertThat(ask(ctl, "start wire0 file " + dir.resolve("no/such/dir/x.pcapng")))
                .startsWith("error: ENOENT: cannot create " + dir.resolve("no/such/dir/x.pcapng"));
        assertThat(ask(ctl, "start wire0 file " + dir + "/a rotate 100")).isEqualTo("error: EINVAL: '100' is not a file size in bytes (4096..9223372036854775807)");
        assertThat(ask(ctl, "stop 7")).isEqualTo("error: ENOENT: no file session 7");
        assertThat(ask(ctl, "frob")).startsWith("error: EINVAL: usage: watch IFACE");
        assertThat(ask(ctl, "list")).isEqualTo("no sessions");
        assertThat(Files.list(dir)).isEmpty();
        assertThatThrownBy(() -> k.connectControl(Capture.NAME, 0, false)).as("capture is for privileged clients")
                .isInstanceOfSatisfying(KpiException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EPERM));
    }

    @Test void withoutTheServersThreadFilesAreRefused() throws Exception {
        try (EmbeddedKernel t = EmbeddedKernel.create()) {
            Capture c = new Capture(); // as kern_loader makes it, before its INIT routine ran
            c.start(t.kpi(Capture.NAME));
            try (ControlClient cc = t.connectControl(Capture.NAME, 0, true)) {
                assertThat(ask(cc, "start wire0 file " + dir.resolve("x.pcapng")))
                        .isEqualTo("error: EOPNOTSUPP: files are written on the server's thread: load capture with its script (INIT init)");
                assertThat(ask(cc, "watch wire0")).startsWith("watching on wire0");
            }
        }
    }

    @Test void stopClosesTheFilesThenLeavesNothing() throws Exception {
        Tshark.require();
        Path f = dir.resolve("s.pcapng");
        ask(ctl, "start wire0 file " + f);
        ping(1);
        assertThat(ext.stop(k.extension(Capture.NAME))).as("a client is connected, the file is open").isEqualTo(Errno.EBUSY);
        ctl.close();
        k.awaitDetached();
        assertThat(ext.stop(k.extension(Capture.NAME))).isZero();
        assertThat(k.extension(Capture.NAME).registrations()).isEmpty();
        assertThat(Tshark.fields(f, "icmp.type")).containsExactly(List.of("8"), List.of("0"));
        assertThat(k.leakedBuffers()).isZero();
    }
}
