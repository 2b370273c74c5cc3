package org.kextnet.kernel.inet.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.link.memwire.MemoryWire;
import org.kextnet.kernel.nke.ExtensionHandle;
import org.kextnet.kernel.socket.Readiness;
import org.kextnet.kernel.socket.SocketError;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.mbuf.Mbuf;
import org.kextnet.kpi.net.ProtocolFamily;
import org.kextnet.kpi.socket.SockAddr;
import org.kextnet.kpi.socket.Socket;
import org.kextnet.kpi.socket.SocketConstants;
import org.kextnet.kpi.socketfilter.SocketAttachment;
import org.kextnet.kpi.socketfilter.SocketEvent;
import org.kextnet.kpi.socketfilter.SocketFilter;
import org.kextnet.kpi.socketfilter.SocketFilterParams;

/**
 * TCP sockets between two kernels joined by a memory wire, each with its own reader threads, on real time: the
 * socket calls, blocking and not, a selector, and every socket-filter callback on TCP with xnu's meaning.
 */
class TcpSocketTest {
    private static final int A = Ipv4.parse("10.7.0.1"), B = Ipv4.parse("10.7.0.2");
    private static final long WAIT = 30;

    private final KernelPair pair = new KernelPair("tcp", 7, MemoryWire.Options.perfect());
    private final Kernel a = pair.a, b = pair.b;

    @AfterEach void close() throws Exception { pair.close(); }

    private <T extends AutoCloseable> T keep(T c) { return pair.keep(c); }

    private TcpSocket listen(Kernel k, int port) throws SocketError {
        TcpSocket s = keep(k.tcp().open()).bind(0, port);
        s.listen(16);
        return s;
    }

    private static byte[] readFully(TcpSocket s, int n) throws Exception {
        ByteBuffer buf = ByteBuffer.allocate(n);
        while (buf.hasRemaining()) {
            int r = s.read(buf, WAIT, TimeUnit.SECONDS);
            if (r < 0) break;
            assertThat(r).as("data within the wait").isPositive();
        }
        return java.util.Arrays.copyOf(buf.array(), buf.position());
    }

    @Test void anUpcallRunsOnThePacketThreadWithNoLockHeldAndMayReadThereWithoutWaiting() throws Exception {
        TcpSocket server = listen(b, 7005);
        TcpSocket client = keep(a.tcp().open());
        client.connect(B, 7005);
        TcpSocket accepted = keep(server.accept(WAIT, TimeUnit.SECONDS));
        accepted.setBlocking(false);
        List<String> seen = Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<String> got = new CompletableFuture<>();
        StringBuilder text = new StringBuilder();
        Thread test = Thread.currentThread();
        accepted.setUpcall(() -> {
            seen.add(Thread.currentThread() == test ? "test thread" : accepted.isLockHeldByCurrentThread() ? "locked" : "ok");
            try {
                ByteBuffer buf = ByteBuffer.allocate(64);
                int n;
                while ((n = accepted.read(buf)) > 0) {
                    text.append(new String(buf.array(), 0, n));
                    buf.clear();
                }
                if (n < 0) got.complete(text.toString());
            } catch (Exception e) {
                got.completeExceptionally(e);
            }
        });
        client.write(ByteBuffer.wrap("upcall".getBytes()));
        client.shutdown(SocketConstants.SHUT_WR);
        assertThat(got.get(WAIT, TimeUnit.SECONDS)).isEqualTo("upcall");
        assertThat(seen).isNotEmpty().containsOnly("ok"); // from kernel b's packet thread, never the caller's, no lock
        accepted.setUpcall(null);
        int calls = seen.size();
        accepted.write(ByteBuffer.wrap("bye".getBytes()));
        assertThat(readFully(client, 3)).isEqualTo("bye".getBytes());
        assertThat(seen).as("no upcall once removed").hasSize(calls);
    }

    @Test void aConnectionCarriesBytesBothWaysAndClosesCleanly() throws Exception {
        TcpSocket server = listen(b, 7000);
        TcpSocket client = keep(a.tcp().open());
        client.connect(B, 7000);
        TcpSocket accepted = keep(server.accept(WAIT, TimeUnit.SECONDS));
        assertThat(accepted).isNotNull();
        assertThat(accepted.getPeerName()).isEqualTo(SockAddr.of(A, client.getSockName().port()));
        assertThat(client.isConnected()).isTrue();

        client.write(ByteBuffer.wrap("hello, b".getBytes()));
        assertThat(readFully(accepted, 8)).isEqualTo("hello, b".getBytes());
        accepted.write(ByteBuffer.wrap("hello, a".getBytes()));
        assertThat(readFully(client, 8)).isEqualTo("hello, a".getBytes());

        client.shutdown(SocketConstants.SHUT_WR); // half-close: b sees the end, and can still answer
        assertThat(accepted.read(ByteBuffer.allocate(4), WAIT, TimeUnit.SECONDS)).isEqualTo(-1);
        accepted.write(ByteBuffer.wrap("bye".getBytes()));
        assertThat(readFully(client, 3)).isEqualTo("bye".getBytes());
        accepted.close();
        assertThat(client.read(ByteBuffer.allocate(4), WAIT, TimeUnit.SECONDS)).isEqualTo(-1);
        assertThat(b.stats().get(Stat.TCP_ACCEPTS)).isEqualTo(1);
    }

    @Test void megabytesArriveWholeAndInOrder() throws Exception {
        TcpSocket server = listen(b, 7001);
        TcpSocket client = keep(a.tcp().open());
        client.connect(B, 7001);
        TcpSocket accepted = keep(server.accept(WAIT, TimeUnit.SECONDS));
        sendAndCheck(client, accepted, 8 << 20);
    }

    /**
     * With a socket filter attached, data goes through {@code data_out} in pieces that each probe the send buffer;
     * a blocking write that finds it full must be woken when it drains (found against Linux: the writer waited for
     * its timeout instead).
     */
    @Test void aFilteredBlockingWriteIsWokenWhenTheSendBufferDrains() throws Exception {
        ExtensionHandle ext = a.nke().open("tcp-pass");
        ext.socketFilters().register(new SocketFilterParams(0x54435034, SocketFilterParams.FLAG_GLOBAL, "tcp-pass",
                ProtocolFamily.PF_INET, SocketConstants.SOCK_STREAM, SocketConstants.IPPROTO_TCP), new SocketFilter() {
            @Override public int dataOut(SocketAttachment at, SockAddr to, Mbuf data, Mbuf control, int flags) { return 0; }
        });
        TcpSocket server = listen(b, 7006);
        TcpSocket client = keep(a.tcp().open());
        client.connect(B, 7006);
        client.setTimeout(WAIT, TimeUnit.SECONDS); // without the wake-up the write returns short after this
        TcpSocket accepted = keep(server.accept(WAIT, TimeUnit.SECONDS));
        sendAndCheck(client, accepted, 8 << 20);
        ext.removeAll();
    }

    /** Writes {@code size} random bytes from {@code client} and closes; checks {@code accepted} reads them all. */
    private static void sendAndCheck(TcpSocket client, TcpSocket accepted, int size) throws Exception {
        byte[] data = new byte[size];
        new Random(7).nextBytes(data);
        CompletableFuture<Void> sender = CompletableFuture.runAsync(() -> {
            try {
                assertThat(client.write(ByteBuffer.wrap(data))).isEqualTo(data.length);
                client.close();
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        MessageDigest got = MessageDigest.getInstance("SHA-256");
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        long total = 0;
        while (true) {
            buf.clear();
            int n = accepted.read(buf, WAIT, TimeUnit.SECONDS);
            if (n < 0) break;
            assertThat(n).as("data within the wait").isPositive();
            got.update(buf.array(), 0, n);
            total += n;
        }
        sender.get(WAIT, TimeUnit.SECONDS);
        assertThat(total).isEqualTo(data.length);
        assertThat(got.digest()).isEqualTo(MessageDigest.getInstance("SHA-256").digest(data));
    }

    @Test void aConnectionToAClosedPortIsRefused() {
        TcpSocket client = keep(a.tcp().open());
        assertThatThrownBy(() -> client.connect(B, 7999))
                .isInstanceOfSatisfying(SocketError.class, e -> assertThat(e.errno()).isEqualTo(Errno.ECONNREFUSED));
    }

    /** BSD and Linux: a connection starts with the options its listening socket has when the connection is made. */
    @Test void optionsSetOnAListeningSocketApplyToTheConnectionsItMakesAfterwards() throws Exception {
        TcpSocket server = listen(b, 7010);
        server.setOption(SocketConstants.IPPROTO_TCP, SocketConstants.TCP_MAXSEG, 1000);
        server.setOption(SocketConstants.SOL_SOCKET, SocketConstants.SO_RCVBUF, 20_000);
        server.setOption(SocketConstants.IPPROTO_TCP, SocketConstants.TCP_NODELAY, 1);
        assertThatThrownBy(() -> server.setOption(SocketConstants.IPPROTO_TCP, SocketConstants.TCP_CONGESTION, "vegas".getBytes()))
                .isInstanceOfSatisfying(SocketError.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENOENT));
        TcpSocket client = keep(a.tcp().open());
        client.connect(B, 7010);
        TcpSocket accepted = keep(server.accept(WAIT, TimeUnit.SECONDS));
        assertThat(client.connection().mss()).as("the SYN-ACK announced 1000").isLessThanOrEqualTo(1000);
        assertThat(accepted.connection().receiveBuffer()).isEqualTo(20_000);
        assertThat(accepted.connection().noDelay()).isTrue();
        assertThatThrownBy(() -> accepted.setOption(SocketConstants.SOL_SOCKET, SocketConstants.SO_SNDBUF, 0))
                .isInstanceOfSatisfying(SocketError.class, e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL));
    }

    @Test void nonBlockingCallsAndASelector() throws Exception {
        TcpSocket server = listen(b, 7002);
        server.setBlocking(false);
        Readiness sel = new Readiness();
        Readiness.Key acceptKey = sel.register(server.readiness(), Readiness.OP_ACCEPT, "server");
        assertThat(server.tryAccept()).isNull();

        TcpSocket client = keep(a.tcp().open());
        client.setBlocking(false);
        client.connect(B, 7002);
        Readiness csel = new Readiness();
        csel.register(client.readiness(), Readiness.OP_CONNECT, "client");
        assertThat(csel.select(WAIT, TimeUnit.SECONDS)).hasSize(1);
        assertThat(client.finishConnect()).isTrue();

        List<Readiness.Key> ready = sel.select(WAIT, TimeUnit.SECONDS);
        assertThat(ready).containsExactly(acceptKey);
        TcpSocket accepted = keep(server.tryAccept());
        assertThat(accepted).isNotNull();
        accepted.setBlocking(false);
        assertThat(accepted.read(ByteBuffer.allocate(4), 0, TimeUnit.SECONDS)).isZero();

        Readiness.Key readKey = sel.register(accepted.readiness(), Readiness.OP_READ, "conn");
        client.write(ByteBuffer.wrap("x".getBytes()));
        assertThat(sel.select(WAIT, TimeUnit.SECONDS)).contains(readKey);
        assertThat(accepted.read(ByteBuffer.allocate(4), 0, TimeUnit.SECONDS)).isEqualTo(1);
    }

    /** A global socket filter on TCP sees every callback, in xnu's order and with xnu's meaning. */
    @Test void aGlobalSocketFilterSeesEveryCallbackOnTcp() throws Exception {
        List<String> seen = Collections.synchronizedList(new ArrayList<>());
        ExtensionHandle ext = b.nke().open("tcp-watch");
        ext.socketFilters().register(new SocketFilterParams(0x54435031, SocketFilterParams.FLAG_GLOBAL | SocketFilterParams.FLAG_EXTENDED, "tcp-watch",
                ProtocolFamily.PF_INET, SocketConstants.SOCK_STREAM, SocketConstants.IPPROTO_TCP), new SocketFilter() {
            @Override public int attach(SocketAttachment at) { seen.add("attach"); return 0; }
            @Override public void detach(SocketAttachment at) { seen.add("detach"); }
            @Override public void notify(SocketAttachment at, int event, int param) { seen.add(SocketEvent.name(event)); }
            @Override public int bind(SocketAttachment at, SockAddr to) { seen.add("bind " + to.port()); return 0; }
            @Override public int listen(SocketAttachment at) { seen.add("listen"); return 0; }
            @Override public int connectIn(SocketAttachment at, SockAddr from) { seen.add("connect_in"); return 0; }
            @Override public int accept(SocketAttachment at, Socket so, SockAddr local, SockAddr remote) {
                seen.add("accept " + local.port());
                return 0;
            }
            @Override public int dataIn(SocketAttachment at, SockAddr from, Mbuf data, Mbuf control, int flags) {
                seen.add("data_in " + data.packetLength());
                return 0;
            }
            @Override public int dataOut(SocketAttachment at, SockAddr to, Mbuf data, Mbuf control, int flags) {
                seen.add("data_out " + data.packetLength());
                return 0;
            }
        });
        TcpSocket server = listen(b, 7003);
        TcpSocket client = keep(a.tcp().open());
        client.connect(B, 7003);
        TcpSocket accepted = keep(server.accept(WAIT, TimeUnit.SECONDS));
        client.write(ByteBuffer.wrap("ping".getBytes()));
        assertThat(readFully(accepted, 4)).isEqualTo("ping".getBytes());
        accepted.write(ByteBuffer.wrap("pong!".getBytes()));
        assertThat(readFully(client, 5)).isEqualTo("pong!".getBytes());
        client.close();
        assertThat(accepted.read(ByteBuffer.allocate(4), WAIT, TimeUnit.SECONDS)).isEqualTo(-1);
        accepted.close();
        server.close();
        // b's end leaves LAST-ACK (and tells "disconnected") when a's ACK of its FIN comes; the listener's filter
        // goes at its close, the accepted socket's when its connection is released: wait for both first.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
        while (!b.tcp().connections().isEmpty() && System.nanoTime() < deadline) Thread.sleep(10);
        while (seen.stream().filter("detach"::equals).count() < 2 && System.nanoTime() < deadline) Thread.sleep(5);
        ext.removeAll();
        assertThat(ext.awaitRemoved(WAIT, TimeUnit.SECONDS)).isTrue();

        assertThat(seen).containsSubsequence("attach", "bind 7003", "bound", "listen", "connect_in", "attach",
                "accept 7003", "data_in 4", "data_out 5", "cantrecvmore", "closing", "disconnecting", "disconnected",
                "detach");
        assertThat(seen).contains("connected");
    }

    /** A filter that swallows received data and re-injects it later keeps the byte order. */
    @Test void swallowedAndReinjectedDataKeepsItsOrder() throws Exception {
        List<Mbuf> held = Collections.synchronizedList(new ArrayList<>());
        ExtensionHandle ext = b.nke().open("tcp-delay");
        int handle = 0x54435032;
        ext.socketFilters().register(new SocketFilterParams(handle, SocketFilterParams.FLAG_GLOBAL, "tcp-delay",
                ProtocolFamily.PF_INET, SocketConstants.SOCK_STREAM, SocketConstants.IPPROTO_TCP), new SocketFilter() {
            @Override public int dataIn(SocketAttachment at, SockAddr from, Mbuf data, Mbuf control, int flags) {
                held.add(data);
                return Errno.EJUSTRETURN; // everything from now on: the order is ours to keep
            }
        });
        TcpSocket server = listen(b, 7004);
        TcpSocket client = keep(a.tcp().open());
        client.connect(B, 7004);
        TcpSocket accepted = keep(server.accept(WAIT, TimeUnit.SECONDS));
        for (String s : new String[] {"one ", "two ", "three"}) {
            client.write(ByteBuffer.wrap(s.getBytes()));
            Thread.sleep(50);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT);
        while (held.stream().mapToInt(Mbuf::packetLength).sum() < 13 && System.nanoTime() < deadline) Thread.sleep(10);
        assertThat(accepted.available()).isZero();
        for (Mbuf m : List.copyOf(held)) {
            assertThat(ext.socketFilters().injectDataIn(accepted, handle, null, m, null, 0)).isZero();
        }
        assertThat(new String(readFully(accepted, 13))).isEqualTo("one two three");
        ext.removeAll();
    }

    @Test void connectInRefusesAConnectionBeforeItExists() throws Exception {
        ExtensionHandle ext = b.nke().open("tcp-refuse");
        ext.socketFilters().register(new SocketFilterParams(0x54435033, SocketFilterParams.FLAG_GLOBAL | SocketFilterParams.FLAG_EXTENDED, "tcp-refuse",
                ProtocolFamily.PF_INET, SocketConstants.SOCK_STREAM, SocketConstants.IPPROTO_TCP), new SocketFilter() {
            @Override public int connectIn(SocketAttachment at, SockAddr from) { return Errno.EPERM; }
        });
        TcpSocket server = listen(b, 7005);
        TcpSocket client = keep(a.tcp().open());
        client.setTimeout(2, TimeUnit.SECONDS);
        assertThatThrownBy(() -> client.connect(B, 7005)).isInstanceOf(SocketError.class);
        assertThat(server.tryAccept()).isNull();
        ext.removeAll();
    }
}
