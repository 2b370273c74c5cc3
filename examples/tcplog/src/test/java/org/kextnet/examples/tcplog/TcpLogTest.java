package org.kextnet.examples.tcplog;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.Kpi;
import org.kextnet.kpi.control.ControlClient;
import org.kextnet.kpi.socket.SocketConstants;
import org.kextnet.testkit.EmbeddedKernel;
import org.kextnet.testkit.Frames;
import org.kextnet.testkit.TcpTestSocket;

/** tcplog in an embedded kernel with a peer: what it records of TCP connections, its bounds, its delay mode, its control. */
class TcpLogTest {
    private static final Instant T0 = Instant.parse("2025-01-01T10:00:00Z");

    /** A clock the test moves by hand, for the records' times. */
    private final AtomicReference<Instant> now = new AtomicReference<>(T0);
    private final InstantSource clock = now::get;

    private void tick(long millis) { now.set(now.get().plusMillis(millis)); }

    private static byte[] ascii(String s) { return s.getBytes(StandardCharsets.US_ASCII); }

    private static EmbeddedKernel manual() {
        return EmbeddedKernel.builder().ethernet("wire0", "10.0.0.1/24").manualClock().build();
    }

    /** Sends one command and collects the answer: up to {@code end N} for list, else one message. */
    static List<String> ask(ControlClient c, String command) throws Exception {
        assertThat(c.send(ByteBuffer.wrap(ascii(command)), 0)).isZero();
        List<String> out = new ArrayList<>();
        while (true) {
            ByteBuffer b = ByteBuffer.allocate(4096);
            int n = c.receive(b, 5, TimeUnit.SECONDS);
            assertThat(n).as("an answer to %s", command).isPositive();
            String line = new String(b.array(), 0, n, StandardCharsets.UTF_8);
            out.add(line);
            if (!command.equals("list") || line.startsWith("end ")) return out;
        }
    }

    /** The records of a list answer, each as its fields. */
    static List<Map<String, String>> records(List<String> list) {
        assertThat(list.getLast()).isEqualTo("end " + (list.size() - 1));
        List<Map<String, String>> out = new ArrayList<>();
        for (String line : list.subList(0, list.size() - 1)) out.add(fields(line));
        return out;
    }

    static Map<String, String> fields(String line) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String w : line.split(" ")) {
            int eq = w.indexOf('=');
            m.put(w.substring(0, eq), w.substring(eq + 1));
        }
        return m;
    }

    @Test void recordsEachConnectionWithItsKindAddressesDataAndTimes() throws Exception {
        try (EmbeddedKernel k = manual(); EmbeddedKernel peer = k.peer()) {
            assertThat(new TcpLog(clock).start(k.kpi(TcpLog.NAME))).isZero();
            String me = Frames.format(k.ip()), other = Frames.format(peer.ip());

            TcpTestSocket server = k.listenTcp(80);                       // record 1: listening
            tick(1);
            TcpTestSocket remoteClient = peer.connectTcp(k.ip(), 80);    // record 2: in (made by the listener)
            TcpTestSocket in = server.accept();
            tick(1);
            TcpTestSocket echo = peer.listenTcp(7);                       // the peer has no tcplog
            TcpTestSocket out = k.connectTcp(peer.ip(), 7);               // record 3: out
            TcpTestSocket echoConn = echo.accept();
            int outPort = out.localAddress().port();

            remoteClient.write(ascii("GET / HTTP/1.0\r\n\r\n"));
            in.readFully(18);
            in.write(ascii("HTTP/1.0 200 OK\r\n"));
            in.write(ascii("\r\nhello"));
            remoteClient.readFully(24);
            out.write(ascii("ping"));
            echoConn.write(echoConn.readFully(4));
            out.readFully(4);
            tick(5);
            out.close();                                                  // record 3 ends: disconnecting
            echoConn.close();

            try (ControlClient c = k.connectControl(TcpLog.NAME, 0, false)) {
                List<Map<String, String>> r = records(ask(c, "list"));
                assertThat(r).hasSize(3);
                assertThat(r.get(0)).containsEntry("id", "1").containsEntry("kind", "listen").containsEntry("state", "listening")
                        .containsEntry("local", "0.0.0.0:80").containsEntry("remote", "-").containsEntry("created", T0.toString());
                String inPeer = other + ":" + remoteClient.localAddress().port();
                assertThat(r.get(1)).containsEntry("kind", "in").containsEntry("state", "connected")
                        .containsEntry("local", me + ":80").containsEntry("remote", inPeer)
                        .containsEntry("bytes_in", "18").containsEntry("bytes_out", "24").containsEntry("packets_out", "2")
                        .containsEntry("created", T0.plusMillis(1).toString()).containsEntry("stopped", "-");
                assertThat(Long.parseLong(r.get(1).get("packets_in"))).isBetween(1L, 18L);
                assertThat(r.get(2)).containsEntry("kind", "out").containsEntry("local", me + ":" + outPort)
                        .containsEntry("remote", other + ":7").containsEntry("bytes_in", "4").containsEntry("bytes_out", "4")
                        .containsEntry("packets_out", "1").containsEntry("started", T0.plusMillis(2).toString());
                assertThat(r.get(2).get("state")).isIn("disconnecting", "disconnected");
                assertThat(ask(c, "stats").getFirst()).startsWith("records=3 live=3 finished=0 limit=1024 dropped=0 unlogged=0");
            }
        }
    }

    /** connecting, connected, disconnecting, disconnected, then closed when the socket is gone (after TIME-WAIT). */
    @Test void theStateFollowsTheSocketsEvents() throws Exception {
        try (EmbeddedKernel k = manual(); EmbeddedKernel peer = k.peer();
             ControlClient c = startAndConnect(k)) {
            TcpTestSocket server = peer.listenTcp(9);
            TcpTestSocket s = k.openTcp();
            assertThat(fields(ask(c, "list").getFirst())).containsEntry("kind", "-").containsEntry("state", "created");
            s.connect(peer.ip(), 9);
            TcpTestSocket conn = server.accept();
            assertThat(fields(ask(c, "list").getFirst())).containsEntry("kind", "out").containsEntry("state", "connected");
            tick(10);
            s.close();
            assertThat(fields(ask(c, "list").getFirst())).containsEntry("state", "disconnecting").containsEntry("stopped", "-");
            conn.close();
            k.runUntil(() -> conn.state().equals("CLOSED"), 10, TimeUnit.SECONDS);
            Map<String, String> r = fields(ask(c, "list").getFirst());
            assertThat(r).containsEntry("state", "disconnected").containsEntry("stopped", T0.plusMillis(10).toString());
            assertThat(s.state()).isEqualTo("TIME-WAIT");
            k.advanceTime(2, TimeUnit.MINUTES);                             // 2 MSL: the socket is released, the filter detached
            k.awaitDetached();                                              // (detach runs after a grace period)
            assertThat(fields(ask(c, "list").getFirst())).containsEntry("state", "closed").containsEntry("stopped", T0.plusMillis(10).toString());
            assertThat(ask(c, "stats").getFirst()).startsWith("records=1 live=0 finished=1 ");
        }
    }

    private ControlClient startAndConnect(EmbeddedKernel k) throws Exception {
        assertThat(new TcpLog(clock).start(k.kpi(TcpLog.NAME))).isZero();
        return k.connectControl(TcpLog.NAME, 0, false);
    }

    /** A closed listener's socket is gone at once: a finished record. */
    private static void listenAndClose(EmbeddedKernel k, int port) throws Exception {
        k.listenTcp(port).close();
        k.awaitDetached(); // the detach callback follows the close
    }

    @Test void theLogIsBoundedTheOldestFinishedRecordGoesFirstAndLiveOnesAreNeverDropped() throws Exception {
        try (EmbeddedKernel k = manual(); ControlClient c = startAndConnect(k)) {
            assertThat(ask(c, "limit 3")).containsExactly("limit 3");
            listenAndClose(k, 1001);                                        // 1 finished
            listenAndClose(k, 1002);                                        // 2 finished
            TcpTestSocket l3 = k.listenTcp(1003);                           // 3 live
            TcpTestSocket l4 = k.listenTcp(1004);                           // full: 1 goes
            assertThat(records(ask(c, "list"))).extracting(r -> r.get("local")).containsExactly("0.0.0.0:1002", "0.0.0.0:1003", "0.0.0.0:1004");
            TcpTestSocket l5 = k.listenTcp(1005);                           // 2 goes
            TcpTestSocket l6 = k.listenTcp(1006);                           // every record is live: not logged
            assertThat(records(ask(c, "list"))).extracting(r -> r.get("local")).containsExactly("0.0.0.0:1003", "0.0.0.0:1004", "0.0.0.0:1005");
            assertThat(fields(ask(c, "stats").getFirst())).containsEntry("records", "3").containsEntry("dropped", "2").containsEntry("unlogged", "1");
            assertThat(l6.state()).as("the unlogged socket works without the filter").isEqualTo("LISTEN");

            l3.close();
            l4.close();
            k.awaitDetached();
            assertThat(ask(c, "limit 2")).containsExactly("limit 2, dropped 1");  // the oldest finished
            assertThat(records(ask(c, "list"))).extracting(r -> r.get("local")).containsExactly("0.0.0.0:1004", "0.0.0.0:1005");
            assertThat(ask(c, "flush")).containsExactly("flushed 1");
            assertThat(records(ask(c, "list"))).extracting(r -> r.get("local")).containsExactly("0.0.0.0:1005");
            assertThat(fields(ask(c, "stats").getFirst())).containsEntry("records", "1").containsEntry("live", "1")
                    .containsEntry("dropped", "3").containsEntry("flushed", "1").containsEntry("limit", "2");
            l5.close();
            l6.close();
        }
    }

    @Test void badCommandsAreAnsweredWithAnErrorAndChangeNothing() throws Exception {
        try (EmbeddedKernel k = manual(); ControlClient c = startAndConnect(k)) {
            String before = ask(c, "stats").getFirst();
            assertThat(ask(c, "limit 0")).containsExactly("error: limit wants one number from 1 to 65536, not '0'");
            assertThat(ask(c, "limit many")).containsExactly("error: limit wants one number from 1 to 65536, not 'many'");
            assertThat(ask(c, "limit")).containsExactly("error: limit wants one number from 1 to 65536");
            assertThat(ask(c, "delay -5")).containsExactly("error: delay wants milliseconds (1 to 60000) or off, not '-5'");
            assertThat(ask(c, "list all")).containsExactly("error: list takes no argument");
            assertThat(ask(c, "frobnicate")).containsExactly("error: unknown command 'frobnicate' (list, stats, flush, limit N, delay MS|off)");
            assertThat(ask(c, "stats").getFirst()).isEqualTo(before);
            assertThat(ask(c, "delay 20ms")).containsExactly("delay 20ms");
            assertThat(ask(c, "stats").getFirst()).contains(" delay=20ms ");
        }
    }

    /** A list longer than the client's queue holds is not cut: the rest is queued as the client reads. */
    @Test void aLongListFollowsAsTheClientReads() throws Exception {
        try (EmbeddedKernel k = manual(); ControlClient c = startAndConnect(k)) {
            for (int port = 2000; port < 2600; port++) k.listenTcp(port).close();
            k.awaitDetached();
            List<Map<String, String>> r = records(ask(c, "list"));         // 600 lines of ~230 bytes: over 64 KiB
            assertThat(r).hasSize(600);
            assertThat(r.getLast()).containsEntry("id", "600").containsEntry("local", "0.0.0.0:2599");
        }
    }

    /**
     * Delay mode: received data is taken, tagged and re-injected by a callout 50 ms later, through every filter; the
     * filter recognises its tag, so the bytes are counted once and arrive once, in order, also the data that came
     * after the mode was turned off while some was still held.
     */
    @Test void delayModeHoldsDataAndReinjectsItTaggedOnceAndInOrder() throws Exception {
        try (EmbeddedKernel k = manual(); EmbeddedKernel peer = k.peer(); ControlClient c = startAndConnect(k)) {
            TcpTestSocket server = k.listenTcp(80);
            TcpTestSocket client = peer.connectTcp(k.ip(), 80);
            client.setOption(SocketConstants.IPPROTO_TCP, SocketConstants.TCP_NODELAY, 1); // "two" follows at once, not after the ACK of "one "
            TcpTestSocket conn = server.accept();
            assertThat(ask(c, "delay 50")).containsExactly("delay 50ms");

            client.write(ascii("one "));
            k.runPending();
            assertThat(conn.available()).as("held").isZero();
            assertThat(ask(c, "delay off")).containsExactly("delay off");
            client.write(ascii("two"));                                     // behind held data: held too
            k.runPending();
            assertThat(conn.available()).isZero();
            assertThat(fields(ask(c, "stats").getFirst())).containsEntry("held", "2").containsEntry("reinjected", "0");
            k.advanceTime(40, TimeUnit.MILLISECONDS);
            assertThat(conn.available()).isZero();
            k.advanceTime(20, TimeUnit.MILLISECONDS);
            assertThat(new String(conn.readFully(7), StandardCharsets.US_ASCII)).isEqualTo("one two");

            client.write(ascii("!"));                                       // nothing held now: passes at once
            k.runPending();
            assertThat(conn.available()).isEqualTo(1);
            Map<String, String> in = records(ask(c, "list")).get(1);
            assertThat(in).containsEntry("kind", "in").containsEntry("bytes_in", "8").containsEntry("packets_in", "3");
            assertThat(fields(ask(c, "stats").getFirst())).containsEntry("held", "2").containsEntry("reinjected", "2");
        }
    }

    /** stop detaches the filter from every socket, frees what it held, and leaves no registration. */
    @Test void stopRemovesEverythingAndFreesHeldData() throws Exception {
        try (EmbeddedKernel k = manual(); EmbeddedKernel peer = k.peer()) {
            Kpi kpi = k.kpi(TcpLog.NAME);
            TcpLog log = new TcpLog(clock);
            assertThat(log.start(kpi)).isZero();
            assertThat(log.command("delay 1000")).containsExactly("delay 1000ms");
            TcpTestSocket server = k.listenTcp(80);
            TcpTestSocket client = peer.connectTcp(k.ip(), 80);
            TcpTestSocket conn = server.accept();
            client.write(ascii("held until stop"));
            k.runPending();
            assertThat(log.stats()).contains(" held=1 ");

            int r = log.stop(kpi);
            for (int i = 0; i < 100 && r == Errno.EBUSY; i++) {
                k.awaitDetached();
                r = log.stop(kpi);
            }
            assertThat(r).isZero();
            assertThat(kpi.registrations()).isEmpty();
            assertThat(log.stats()).contains(" live=0 finished=2 ");   // the listener and the connection, detached
            k.advanceTime(2, TimeUnit.SECONDS);                        // the callout was cancelled: nothing is injected
            assertThat(conn.available()).isZero();
            client.close();
            conn.close();
            server.close();
            k.advanceTime(2, TimeUnit.MINUTES);
            assertThat(k.leakedBuffers()).as(k.statistics()).isZero();
        }
    }
}
