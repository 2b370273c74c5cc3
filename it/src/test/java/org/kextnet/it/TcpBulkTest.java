package org.kextnet.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.kextnet.kernel.inet.tcp.TcpSocket;
import org.kextnet.kernel.link.tun.TunDriver;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.ProtocolFamily;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.kpi.socket.SocketConstants;
import org.kextnet.kpi.socketfilter.SocketAttachment;
import org.kextnet.kpi.socketfilter.SocketFilter;
import org.kextnet.kpi.socketfilter.SocketFilterParams;

/**
 * Bulk TCP between Linux, in a namespace one hop behind a router namespace ({@link TcpRig#routed}), and the
 * stack over TUN (and once directly over TAP), each transfer checked by
 * SHA-256: Linux's {@code nc} sending to the stack's discard service (a socket filter on the service's socket
 * hashes what it receives), the stack sending to Linux's {@code socat} listener (which pipes into
 * {@code sha256sum}), and {@code curl} fetching from a small HTTP responder on the stack. Each runs clean and
 * impaired: 1 % and 5 % loss on Linux's side (nftables in the router's forward chain), 20 ms of delay, reordering with duplication on the
 * stack's side ({@link Impairment}).
 *
 * <p>Sizes: 100 MB each way everywhere; {@code -Dkextnet.it.bulkMB=N} changes it. Each transfer prints a
 * {@code tsv-bulk} line with its time, rate and the stack's loss counters; {@code -Dkextnet.it.bulkStats=true}
 * adds the whole {@code netstat -s -p tcp}.
 */
class TcpBulkTest {
    static final long MB = 1_000_000;
    private static final long SIZE = Long.getLong("kextnet.it.bulkMB", 100) * MB;
    private static final Duration TRANSFER = Duration.ofSeconds(240);

    private final Teardown teardown = new Teardown();

    @AfterEach void tearDown() throws Exception { teardown.close(); }

    /** What the link does, on top of the plain TUN device. */
    enum Scenario {
        CLEAN(0, 0, 0, 0),
        LOSS_1_PERCENT(1, 0, 0, 0),
        LOSS_5_PERCENT(5, 0, 0, 0),
        DELAY_20_MS(0, 20, 0, 0),
        REORDER_AND_DUPLICATE(0, 0, 0.02, 0.02);

        final int lossPercent;
        final int delayMs;
        final double duplicate, reorder;

        Scenario(int lossPercent, int delayMs, double duplicate, double reorder) {
            this.lossPercent = lossPercent;
            this.delayMs = delayMs;
            this.duplicate = duplicate;
            this.reorder = reorder;
        }

        /** Impairs {@code rig}'s link as this scenario says; returns the stack-side impairment, or null. */
        Impairment apply(TcpRig rig, Teardown teardown) {
            if (lossPercent > 0) rig.linuxLoss(lossPercent);
            if (delayMs > 0 || duplicate > 0 || reorder > 0) {
                return teardown.add(Impairment.on(rig.kernel, rig.ifp.name(), delayMs, TimeUnit.MILLISECONDS, duplicate, reorder, 12));
            }
            return null;
        }

        /** The impairment happened: nftables dropped, the stack saw losses or out-of-order data, frames were held. */
        void checkImpaired(TcpRig rig, Impairment imp) {
            if (lossPercent > 0) {
                assertThat(rig.linuxDropped()).as("packets nftables dropped").isPositive();
                assertThat(rig.kernel.stats().get(Stat.TCP_SND_REXMIT) + rig.kernel.stats().get(Stat.TCP_RCV_OOO))
                        .as("the stack saw the loss: %s", rig.command("netstat -s -p tcp")).isPositive();
            }
            if (duplicate > 0) assertThat(imp.duplicated()).as("frames duplicated").isPositive();
            if (reorder > 0) assertThat(imp.reordered()).as("frames reordered").isPositive();
        }
    }

    private static void report(TcpRig rig, String what, Scenario s, long bytes, long nanos) {
        var st = rig.kernel.stats();
        System.out.printf(Locale.ROOT, "tsv-bulk %-22s %-22s %6.1f MB in %6.2f s = %6.1f MB/s; stack: rexmit %d, dup %d, ooo %d, rto %d; linux dropped %d%n",
                what, s, bytes / 1e6, nanos / 1e9, bytes / 1e6 / (nanos / 1e9), st.get(Stat.TCP_SND_REXMIT), st.get(Stat.TCP_RCV_DUP),
                st.get(Stat.TCP_RCV_OOO), st.get(Stat.TCP_RTO), s.lossPercent > 0 ? rig.linuxDropped() : 0);
        if (Boolean.getBoolean("kextnet.it.bulkStats")) System.out.println(rig.command("netstat -s -p tcp"));
    }

    // ---- Linux sends to the stack's discard service ----

    /** A global socket filter on TCP that hashes each socket's received data (the discard service is silent). */
    private static final class Hasher implements SocketFilter {
        final List<Hashed> sockets = new java.util.concurrent.CopyOnWriteArrayList<>();

        static final class Hashed {
            final java.security.MessageDigest sha = Payload.sha256();
            final byte[] scratch = new byte[64 * 1024];
            volatile long bytes;
            volatile boolean ended;
        }

        @Override public int attach(SocketAttachment at) {
            Hashed h = new Hashed();
            at.setCookie(h);
            sockets.add(h);
            return 0;
        }

        @Override public int dataIn(SocketAttachment at, SockAddr from, Mbuf data, Mbuf control, int flags) {
            Hashed h = (Hashed) at.cookie();
            int len = data.packetLength();
            for (int off = 0; off < len; ) {
                int n = Math.min(len - off, h.scratch.length);
                data.copyData(off, h.scratch, 0, n);
                h.sha.update(h.scratch, 0, n);
                off += n;
            }
            h.bytes += len;
            return 0;
        }

        @Override public void notify(SocketAttachment at, int event, int param) {
            if (event == org.kextnet.kpi.socketfilter.SocketEvent.CANTRECVMORE) ((Hashed) at.cookie()).ended = true;
        }
    }

    private void linuxSendsToTheDiscardService(TcpRig rig, Scenario s, Impairment imp) throws Exception {
        Requirements.require("nc");
        Hasher hasher = new Hasher();
        ExtensionHandle ext = rig.kernel.nke().open("tsv-hash");
        teardown.add(ext::close);
        ext.socketFilters().register(new SocketFilterParams(0x54535631, SocketFilterParams.FLAG_GLOBAL, "tsv-hash",
                ProtocolFamily.PF_INET, SocketConstants.SOCK_STREAM, SocketConstants.IPPROTO_TCP), hasher);
        rig.command("service tcp-discard");
        Path file = Files.createTempFile("kxt-tsv-", ".bin");
        teardown.add(() -> Files.deleteIfExists(file));
        Payload p = new Payload(SIZE, 1);
        String sha = p.writeTo(file);

        long t0 = System.nanoTime();
        // -N: shut the connection down at the end of the file, so that discard sees the end and closes.
        NetNs.Result r = rig.sh(TRANSFER, "nc -N " + TcpRig.LOCAL + " 9 < " + file);
        long took = System.nanoTime() - t0;

        assertThat(r.ok()).as("nc: %s", r).isTrue();
        Stack.eventually(() -> assertThat(hasher.sockets).anyMatch(h -> h.ended && h.bytes == SIZE));
        Hasher.Hashed got = hasher.sockets.stream().filter(h -> h.bytes == SIZE).findFirst().orElseThrow();
        assertThat(java.util.HexFormat.of().formatHex(got.sha.digest())).isEqualTo(sha);
        report(rig, "linux nc -> discard", s, SIZE, took);
        s.checkImpaired(rig, imp);
    }

    // ---- the stack sends to Linux's listener ----

    private void stackSendsToLinux(TcpRig rig, Scenario s, Impairment imp) throws Exception {
        Requirements.require("socat", "sha256sum");
        CompletableFuture<NetNs.Result> linux = rig.shAsync(TRANSFER, "socat -u TCP-LISTEN:5001,reuseaddr STDOUT | sha256sum");
        TcpSocket so = teardown.add(rig.connectToLinux(5001));
        Payload.Source src = new Payload(SIZE, 2).source();
        ByteBuffer buf = ByteBuffer.allocate(256 * 1024);
        long t0 = System.nanoTime();
        while (src.next(buf)) assertThat(so.write(buf)).as("written within the timeout").isEqualTo(buf.limit());
        so.shutdown(SocketConstants.SHUT_WR);
        NetNs.Result r = linux.get(TRANSFER.toSeconds() + 30, TimeUnit.SECONDS);
        long took = System.nanoTime() - t0;

        assertThat(r.ok()).as("socat | sha256sum: %s", r).isTrue();
        assertThat(r.output().strip().split("\\s+")[0]).isEqualTo(src.sha256Hex());
        report(rig, "stack -> linux socat", s, SIZE, took);
        s.checkImpaired(rig, imp);
    }

    // ---- curl fetches from an HTTP responder on the stack ----

    /** A one-page HTTP/1.1 responder on the stack: every GET gets the payload, then the connection closes. */
    private void httpResponder(TcpRig rig, Payload p) throws Exception {
        TcpSocket listener = teardown.add(rig.kernel.tcp().open());
        listener.bind(0, 80);
        listener.listen(16);
        Thread.ofVirtual().name("tsv-http").start(() -> {
            try {
                while (true) {
                    TcpSocket c = listener.accept(60, TimeUnit.SECONDS);
                    if (c == null) return;
                    Thread.ofVirtual().start(() -> serveHttp(c, p));
                }
            } catch (Exception e) {
                // the listener closed with the test
            }
        });
    }

    private static void serveHttp(TcpSocket c, Payload p) {
        try (c) {
            c.setTimeout(60, TimeUnit.SECONDS);
            ByteBuffer req = ByteBuffer.allocate(8192);
            while (!new String(req.array(), 0, req.position(), StandardCharsets.US_ASCII).contains("\r\n\r\n")) {
                if (!req.hasRemaining() || c.read(req) <= 0) return; // too long, closed or silent
            }
            String head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " + p.size()
                    + "\r\nConnection: close\r\n\r\n";
            c.write(ByteBuffer.wrap(head.getBytes(StandardCharsets.US_ASCII)));
            Payload.Source src = p.source();
            ByteBuffer buf = ByteBuffer.allocate(256 * 1024);
            while (src.next(buf)) c.write(buf);
            c.shutdown(SocketConstants.SHUT_WR);
            c.read(ByteBuffer.allocate(1)); // the client's end (or the timeout), then close
        } catch (Exception e) {
            // the client went away: the test sees it in curl's result
        }
    }

    private void curlFetchesFromTheStack(TcpRig rig, Scenario s, Impairment imp) throws Exception {
        Requirements.require("curl", "sha256sum");
        Payload p = new Payload(SIZE, 3);
        httpResponder(rig, p);
        long t0 = System.nanoTime();
        NetNs.Result r = rig.sh(TRANSFER, "set -o pipefail; curl -sS --fail --max-time " + TRANSFER.toSeconds()
                + " http://" + TcpRig.LOCAL + "/ | sha256sum");
        long took = System.nanoTime() - t0;

        assertThat(r.ok()).as("curl | sha256sum: %s", r).isTrue();
        assertThat(r.output().strip().split("\\s+")[0]).isEqualTo(p.sha256Hex());
        report(rig, "curl <- stack http", s, SIZE, took);
        s.checkImpaired(rig, imp);
    }

    // ---- the tests ----

    @ParameterizedTest @EnumSource(Scenario.class) @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void linuxSendsToTheDiscardService(Scenario s) throws Exception {
        TcpRig rig = TcpRig.routed(teardown);
        linuxSendsToTheDiscardService(rig, s, s.apply(rig, teardown));
    }

    @ParameterizedTest @EnumSource(Scenario.class) @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void theStackSendsToLinux(Scenario s) throws Exception {
        TcpRig rig = TcpRig.routed(teardown);
        stackSendsToLinux(rig, s, s.apply(rig, teardown));
    }

    @ParameterizedTest @EnumSource(Scenario.class) @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void curlFetchesFromTheStack(Scenario s) throws Exception {
        TcpRig rig = TcpRig.routed(teardown);
        curlFetchesFromTheStack(rig, s, s.apply(rig, teardown));
    }

    /**
     * Linux's TCP right on the TUN device (no router between), so that with offloads on it hands the device 64 KiB GSO
     * packets and takes the stack's super-segments to cut; the same transfers with offloads off. Each direction: the
     * bytes checked by SHA-256, and how the segments crossed the device.
     */
    @ParameterizedTest @ValueSource(strings = {"on", "off"}) @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void bothWaysOverTunWithOffloadsOnAndOff(String offload) throws Exception {
        boolean on = offload.equals("on");
        TcpRig rig = TcpRig.tunWithOffload(teardown, offload);
        assertThat(((TunDriver) rig.ifp.driver()).device().vnetHeader()).as("virtio-net headers").isEqualTo(on);
        assertThat(rig.ifp.driver().tsoMaxSize()).isEqualTo(on ? TunDriver.TSO_MAX : 0);
        var st = rig.kernel.stats();
        long segments = st.get(Stat.TCP_RCV_TOTAL);
        linuxSendsToTheDiscardService(rig, Scenario.CLEAN, null);
        long in = st.get(Stat.TCP_RCV_TOTAL) - segments;
        stackSendsToLinux(rig, Scenario.CLEAN, null);
        System.out.printf(Locale.ROOT, "tsv-bulk offload %s: %d segments received for %d MB in; %d data segments sent, %d of them super-segments%n",
                offload, in, SIZE / MB, st.get(Stat.TCP_SND_DATA), st.get(Stat.TCP_SND_TSO));
        assertThat(st.get(Stat.LINK_BAD_VNET_HEADER)).isZero();
        assertThat(st.get(Stat.TCP_RCV_BAD_SUM)).isZero();
        if (on) {
            // Linux sent GSO packets, taken whole: fewer segments than MSS-sized ones would need.
            assertThat(in).as("segments received with offloads").isLessThan(SIZE / 1448 / 2);
            assertThat(st.get(Stat.TCP_SND_TSO)).as("super-segments sent").isPositive();
        } else {
            assertThat(in).as("segments received without offloads").isGreaterThanOrEqualTo(SIZE / 1460);
            assertThat(st.get(Stat.TCP_SND_TSO)).isZero();
        }
    }

    /** Over TAP, Linux first resolves the stack's address with ARP; then the same transfers both ways. */
    @Test @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void bothWaysOverTapWithArp() throws Exception {
        TcpRig rig = TcpRig.tap(teardown);
        linuxSendsToTheDiscardService(rig, Scenario.CLEAN, null);
        stackSendsToLinux(rig, Scenario.CLEAN, null);
        assertThat(rig.kernel.stats().get(Stat.ARP_RX_REQUEST) + rig.kernel.stats().get(Stat.ARP_TX_REQUEST)).isPositive();
    }
}
