package org.kextnet.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.Kpi;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.ProtocolFamily;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.kpi.socket.Socket;
import org.kextnet.kpi.socket.SocketConstants;
import org.kextnet.kpi.socketfilter.SocketAttachment;
import org.kextnet.kpi.socketfilter.SocketEvent;
import org.kextnet.kpi.socketfilter.SocketFilter;
import org.kextnet.kpi.socketfilter.SocketFilterParams;

/** TCP in the test kit: a kernel and its peer, sockets whose waits run the frames, socket filters on TCP. */
class TcpTestSocketTest {
    private static final int HANDLE = 0x7e57_0001;

    private static byte[] ascii(String s) { return s.getBytes(StandardCharsets.US_ASCII); }

    private static String text(byte[] b) { return new String(b, StandardCharsets.US_ASCII); }

    private static SocketFilterParams globalTcp(String name) {
        return new SocketFilterParams(HANDLE, SocketFilterParams.FLAG_GLOBAL | SocketFilterParams.FLAG_EXTENDED, name,
                ProtocolFamily.PF_INET, SocketConstants.SOCK_STREAM, SocketConstants.IPPROTO_TCP);
    }

    /**
     * Every step of a connection's life between the kernel and its peer. On a manual clock: on the system clock a
     * loaded machine may let the kernel's retransmission timer resend its FIN before the peer's ACK is in; the
     * peer's second ACK then meets a closed connection, whose RST ends the peer's TIME-WAIT early, as in BSD.
     */
    @Test void aKernelAndItsPeerCarryTcpBothWaysAndClose() throws Exception {
        try (EmbeddedKernel k = EmbeddedKernel.builder().ethernet("wire0", "10.0.0.1/24").manualClock().build();
             EmbeddedKernel peer = k.peer()) {
            assertThat(k.peer()).isSameAs(peer);
            assertThat(peer.ip()).isEqualTo(k.peerIp());
            assertThat(peer.peerIp()).isEqualTo(k.ip());

            TcpTestSocket server = k.listenTcp(8080);
            assertThat(server.state()).isEqualTo("LISTEN");
            TcpTestSocket client = peer.connectTcp(k.ip(), 8080);
            assertThat(client.state()).isEqualTo("ESTABLISHED");
            TcpTestSocket conn = server.accept();
            assertThat(conn).isNotNull();
            assertThat(conn.remoteAddress()).isEqualTo(SockAddr.of(peer.ip(), client.localAddress().port()));
            assertThat(conn.localAddress()).isEqualTo(SockAddr.of(k.ip(), 8080));

            assertThat(client.write(ascii("hello, kernel"))).isEqualTo(13);
            assertThat(text(conn.readFully(13))).isEqualTo("hello, kernel");
            assertThat(conn.write(ascii("hello, peer"))).isEqualTo(11);
            assertThat(text(client.read(64))).isEqualTo("hello, peer");

            client.shutdownOutput();                                   // half-close: the kernel reads the end, answers
            assertThat(conn.read(16)).isNull();
            conn.write(ascii("bye"));
            conn.close();
            assertThat(text(client.readToEnd(10, TimeUnit.SECONDS))).isEqualTo("bye");
            client.close();
            assertThat(k.runUntil(() -> conn.state().equals("CLOSED"), 10, TimeUnit.SECONDS)).isTrue();
            assertThat(client.state()).isEqualTo("TIME-WAIT");         // it sent the first FIN: it waits 2 MSL
            assertThat(k.stat(Counter.TCP_ACCEPTS)).isEqualTo(1);
            assertThat(peer.stat(Counter.TCP_CONNECTS)).isEqualTo(1);
            server.close();
        }
    }

    @Test void aConnectionToAPortNobodyListensOnIsRefused() throws Exception {
        try (EmbeddedKernel k = EmbeddedKernel.create(); EmbeddedKernel peer = k.peer()) {
            assertThatThrownBy(() -> peer.connectTcp(k.ip(), 9)).isInstanceOf(IOException.class).hasMessageStartingWith("ECONNREFUSED");
        }
    }

    @Test void readAndAcceptGiveUpWhenTheirWaitRunsOut() throws Exception {
        try (EmbeddedKernel k = EmbeddedKernel.builder().ethernet("wire0", "10.0.0.1/24").manualClock().build();
             EmbeddedKernel peer = k.peer()) {
            TcpTestSocket server = k.listenTcp(80);
            assertThat(server.accept(1, TimeUnit.SECONDS)).isNull();
            TcpTestSocket client = peer.connectTcp(k.ip(), 80);
            TcpTestSocket conn = server.accept();
            assertThat(conn.read(10, 2, TimeUnit.SECONDS)).isEmpty();
            assertThat(conn.available()).isZero();
            assertThatThrownBy(() -> conn.readFully(1)).isInstanceOf(IOException.class).hasMessageStartingWith("ETIMEDOUT: 0 of 1 bytes");
            client.write(ascii("x"));
            assertThat(conn.readFully(1)).containsExactly('x');
        }
    }

    /** A megabyte each way at once, on virtual time: every byte arrives in order, and no packet buffer is left. */
    @Test void megabytesCrossBothWaysOnAManualClock() throws Exception {
        try (EmbeddedKernel k = EmbeddedKernel.builder().ethernet("wire0", "10.0.0.1/24").manualClock().build();
             EmbeddedKernel peer = k.peer()) {
            byte[] up = new byte[1 << 20], down = new byte[1 << 20];
            new Random(1).nextBytes(up);
            new Random(2).nextBytes(down);
            TcpTestSocket server = k.listenTcp(5001);
            TcpTestSocket client = peer.connectTcp(k.ip(), 5001);
            TcpTestSocket conn = server.accept();
            ByteSink atKernel = new ByteSink(), atPeer = new ByteSink();
            // Interleave: each side writes what fits and reads what came, so neither blocks on a full window.
            int sentUp = 0, sentDown = 0;
            for (int round = 0; round < 10_000 && (atKernel.total < up.length || atPeer.total < down.length); round++) {
                if (sentUp < up.length) sentUp += client.write(java.util.Arrays.copyOfRange(up, sentUp, Math.min(up.length, sentUp + 65536)), 0, TimeUnit.SECONDS);
                if (sentDown < down.length) sentDown += conn.write(java.util.Arrays.copyOfRange(down, sentDown, Math.min(down.length, sentDown + 65536)), 0, TimeUnit.SECONDS);
                atKernel.add(conn.read(65536, 0, TimeUnit.SECONDS));
                atPeer.add(client.read(65536, 0, TimeUnit.SECONDS));
                k.runUntil(() -> conn.available() > 0 || client.available() > 0, 1, TimeUnit.SECONDS);
            }
            assertThat(atKernel.digest()).isEqualTo(MessageDigest.getInstance("SHA-256").digest(up));
            assertThat(atPeer.digest()).isEqualTo(MessageDigest.getInstance("SHA-256").digest(down));
            client.close();
            conn.close();
            server.close();
            k.advanceTime(2, TimeUnit.MINUTES);                           // TIME-WAIT ends
            assertThat(k.leakedBuffers()).as(k.statistics()).isZero();
            assertThat(peer.leakedBuffers()).isZero();
        }
    }

    /** What a read returned, digested as it comes. */
    private static final class ByteSink {
        final MessageDigest sha;
        long total;

        ByteSink() throws Exception { sha = MessageDigest.getInstance("SHA-256"); }

        void add(byte[] b) {
            if (b == null) return;
            sha.update(b);
            total += b.length;
        }

        byte[] digest() { return sha.digest(); }
    }

    /**
     * A global socket filter on TCP hears each call and event of the kernel's sockets, in xnu's order; the socket that
     * closed first detaches once its TIME-WAIT is over (2 MSL, which a manual clock lets pass at once).
     */
    @Test void aGlobalSocketFilterSeesTheKernelsTcpSockets() throws Exception {
        List<String> seen = Collections.synchronizedList(new ArrayList<>());
        try (EmbeddedKernel k = EmbeddedKernel.builder().ethernet("wire0", "10.0.0.1/24").manualClock().build();
             EmbeddedKernel peer = k.peer()) {
            k.kpi("com.example.tcpwatch").socketFilters().register(globalTcp("tcpwatch"), new SocketFilter() {
                @Override public int attach(SocketAttachment a) { seen.add("attach"); return 0; }
                @Override public void detach(SocketAttachment a) { seen.add("detach"); }
                @Override public void notify(SocketAttachment a, int event, int param) { seen.add(SocketEvent.name(event)); }
                @Override public int connectOut(SocketAttachment a, SockAddr to) { seen.add("connect_out " + to); return 0; }
                @Override public int dataOut(SocketAttachment a, SockAddr to, Mbuf data, Mbuf control, int flags) {
                    seen.add("data_out " + text(data.toByteArray()));
                    return 0;
                }
                @Override public int dataIn(SocketAttachment a, SockAddr from, Mbuf data, Mbuf control, int flags) {
                    seen.add("data_in " + text(data.toByteArray()));
                    return 0;
                }
            });
            TcpTestSocket server = peer.listenTcp(7);                     // the peer has no filter
            TcpTestSocket client = k.connectTcp(peer.ip(), 7);
            TcpTestSocket conn = server.accept();
            client.write(ascii("ping"));
            conn.write(ascii(text(conn.readFully(4)).replace('i', 'o')));
            assertThat(text(client.readFully(4))).isEqualTo("pong");
            client.close();
            conn.close();
            assertThat(k.runUntil(() -> seen.contains("disconnected"), 10, TimeUnit.SECONDS)).isTrue();
            assertThat(seen).doesNotContain("detach");                    // TIME-WAIT: the connection is not over
            assertThat(k.runUntil(() -> seen.contains("detach"), 5, TimeUnit.MINUTES)).isTrue();
            assertThat(seen).containsSubsequence("attach", "connect_out " + Frames.format(peer.ip()) + ":7", "connecting",
                    "connected", "data_out ping", "data_in pong", "closing", "disconnecting", "disconnected", "detach");
        }
    }

    /**
     * A filter that swallows received data and re-injects it from a callout: on a manual clock the read waits by
     * moving time to the callout, and the bytes arrive once, in order.
     */
    @Test void dataAFilterHoldsArrivesWhenItsCalloutRunsOnVirtualTime() throws Exception {
        try (EmbeddedKernel k = EmbeddedKernel.builder().ethernet("wire0", "10.0.0.1/24").manualClock().build();
             EmbeddedKernel peer = k.peer()) {
            Kpi kpi = k.kpi("com.example.hold");
            int tag = kpi.mbufs().tagIdFind("com.example.hold");
            ConcurrentLinkedQueue<Object[]> held = new ConcurrentLinkedQueue<>();
            List<String> released = Collections.synchronizedList(new ArrayList<>());
            kpi.socketFilters().register(globalTcp("hold"), new SocketFilter() {
                @Override public int dataIn(SocketAttachment a, SockAddr from, Mbuf data, Mbuf control, int flags) {
                    if (data.tagFind(tag, 1) != null) return 0;               // ours, re-injected: let it through
                    data.tagAllocate(tag, 1, 1);
                    held.add(new Object[] {a.socket(), data});
                    kpi.callouts().schedule(() -> {
                        Object[] h = held.poll();
                        released.add(text(((Mbuf) h[1]).toByteArray()));
                        if (kpi.socketFilters().injectDataIn((Socket) h[0], 0, null, (Mbuf) h[1], null, 0) != 0) ((Mbuf) h[1]).free();
                    }, 50, TimeUnit.MILLISECONDS);
                    return Errno.EJUSTRETURN;
                }
            });
            TcpTestSocket server = k.listenTcp(80);
            TcpTestSocket client = peer.connectTcp(k.ip(), 80);
            TcpTestSocket conn = server.accept();
            client.write(ascii("one "));
            client.write(ascii("two"));
            k.runPending();
            assertThat(conn.available()).isZero();                       // held: time has not moved
            assertThat(released).isEmpty();
            assertThat(text(conn.readFully(7))).isEqualTo("one two");   // the wait moved time to the callouts
            assertThat(released).containsExactly("one ", "two");
        }
    }

    @Test void onTheSystemClockAKernelTalksToItselfThroughLoopback() throws Exception {
        try (EmbeddedKernel k = EmbeddedKernel.create()) {
            TcpTestSocket server = k.listenTcp(25);
            TcpTestSocket client = k.connectTcp(k.ip(), 25);
            TcpTestSocket conn = server.accept();
            client.write(ascii("HELO"));
            assertThat(text(conn.readFully(4))).isEqualTo("HELO");
        }
        try (EmbeddedKernel k = EmbeddedKernel.builder().ethernet("wire0", "10.0.0.1/24").manualClock().build()) {
            k.listenTcp(25);
            assertThatThrownBy(() -> k.connectTcp(Frames.ip("127.0.0.1"), 25)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("connect to the peer's address");
        }
    }

    @Test void aThreadedKernelHasNoPeer() {
        try (EmbeddedKernel k = EmbeddedKernel.builder().ethernet("wire0", "10.0.0.1/24").threaded(true).build()) {
            assertThatThrownBy(k::peer).isInstanceOf(IllegalStateException.class);
        }
    }
}
