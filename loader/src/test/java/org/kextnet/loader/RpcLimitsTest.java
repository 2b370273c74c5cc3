package org.kextnet.loader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kextnet.kpi.server.LogPriority;
import org.kextnet.loader.rpc.AdminCommands;
import org.kextnet.loader.rpc.KernLoaderClient;
import org.kextnet.loader.rpc.KernelControls;
import org.kextnet.loader.rpc.Op;
import org.kextnet.loader.rpc.PeerPolicy;
import org.kextnet.loader.rpc.Rpc;
import org.kextnet.loader.rpc.RpcLimits;
import org.kextnet.loader.rpc.RpcServer;
import org.kextnet.loader.port.Port;

/**
 * The RPC's limits, one at a time, against a daemon with small ones: what a frame may declare, how long a greeting,
 * a frame and a write may take, how long a connection may idle, how many connections and listeners are served, and
 * how many unread events a client may leave; each breach closes that client (or refuses it with an error frame) and
 * leaves the daemon serving the others.
 */
class RpcLimitsTest {
    static final long FRAME_MS = 600, IDLE_MS = 900;

    @TempDir Path dir;
    KernLoader loader = new KernLoader();
    RpcServer server;
    Path socket;
    final List<SocketChannel> raw = new ArrayList<>();

    void start(RpcLimits limits) throws IOException {
        socket = dir.resolve("kl.sock");
        server = new RpcServer(loader, AdminCommands.NONE, KernelControls.NONE, new PeerPolicy(null), socket, "rw-------", limits, null);
    }

    void start() throws IOException {
        start(RpcLimits.defaults().withTimeouts(FRAME_MS, IDLE_MS));
    }

    @AfterEach void stop() throws Exception {
        for (SocketChannel ch : raw) ch.close();
        if (server != null) server.close();
        loader.close();
    }

    SocketChannel open() throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        raw.add(ch);
        return ch;
    }

    /** A connection past the greeting (protocol 2). */
    SocketChannel greeted() throws Exception {
        SocketChannel ch = open();
        ch.write(ByteBuffer.allocate(8).putInt(Rpc.MAGIC).putShort((short) 2).putShort((short) 0).flip());
        RpcTest.read(ch, 16);
        RpcTest.read(ch, RpcTest.read(ch, 2).getShort());
        return ch;
    }

    /** Reads until the daemon closes {@code ch} (bounded); what it sent before, if anything. */
    static void awaitClosedByDaemon(SocketChannel ch) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(4096);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        ch.configureBlocking(true);
        while (System.nanoTime() < deadline) {
            b.clear();
            try {
                if (ch.read(b) < 0) return;
            } catch (IOException e) {
                return; // reset: closed too
            }
        }
        throw new AssertionError("the daemon did not close the connection");
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(10);
        }
    }

    @Test void aFrameLongerThanItsOperationAllowsIsRefusedAsSoonAsItsLengthIsRead() throws Exception {
        start();
        SocketChannel ch = greeted();
        // SEND may carry a 256 KiB message: 16 MiB declared, 13 bytes sent (the attack of issue 13)
        ch.write(ByteBuffer.allocate(5).putInt(16 << 20).put((byte) Op.SEND.code()).flip());
        ByteBuffer r = RpcTest.frame(ch);
        assertThat(r.get() & 0xff).isEqualTo(Op.SEND.code() | 0x80);
        assertThat(r.getInt()).isZero();
        assertThat(r.getShort()).isEqualTo((short) 122);
        assertThat(str(r)).isEqualTo("frame length 16777216 exceeds " + Op.SEND.maxFrame() + ", the most for send");
        awaitClosedByDaemon(ch);
        await("counted", () -> server.count(RpcServer.Closed.MALFORMED) == 1);
        // PING has no body: even 6 bytes are too many
        SocketChannel ping = greeted();
        ping.write(ByteBuffer.allocate(10).putInt(6).put((byte) Op.PING.code()).putInt(1).put((byte) 0).flip());
        r = RpcTest.frame(ping);
        r.position(5);
        assertThat(r.getShort()).isEqualTo((short) 122);
        assertThat(pingOk()).as("the daemon serves the others").isTrue();
    }

    @Test void greetingAndFramesHaveADeadline() throws Exception {
        start();
        SocketChannel silent = open();                       // connects, never greets
        SocketChannel partial = greeted();                  // a SEND of a legal length, 13 bytes of it
        partial.write(ByteBuffer.allocate(13).putInt(Op.SEND.maxFrame()).put((byte) Op.SEND.code()).putInt(7).putInt(0).flip());
        SocketChannel slowGreeting = open();                // one byte of the greeting
        slowGreeting.write(ByteBuffer.wrap(new byte[] {'K'}));
        awaitClosedByDaemon(silent);
        awaitClosedByDaemon(partial);
        awaitClosedByDaemon(slowGreeting);
        await("counted", () -> server.count(RpcServer.Closed.GREETING_TIMEOUT) == 2 && server.count(RpcServer.Closed.FRAME_TIMEOUT) == 1);
        assertThat(pingOk()).isTrue();
    }

    @Test void idleConnectionsCloseButListenersStay() throws Exception {
        start();
        try (KernLoaderClient idle = KernLoaderClient.connect(socket); KernLoaderClient listener = KernLoaderClient.connect(socket)) {
            listener.log(true);
            await("the idle one closed", () -> server.count(RpcServer.Closed.IDLE) == 1);
            assertThatThrownBy(idle::ping).isInstanceOf(IOException.class);
            Thread.sleep(2 * IDLE_MS);
            listener.ping();
            assertThat(server.count(RpcServer.Closed.IDLE)).as("the listener stays").isEqualTo(1);
        }
    }

    @Test void atTheLimitTheConnectionSilentLongestMakesRoomAndListenersAreNeverClosed() throws Exception {
        start(RpcLimits.defaults().withConnections(3, 2).withTimeouts(10_000, 300_000));
        SocketChannel oldest = greeted();
        Thread.sleep(20);
        SocketChannel a = greeted();
        try (KernLoaderClient l1 = KernLoaderClient.connect(socket)) {
            l1.log(true);
            try (KernLoaderClient c = KernLoaderClient.connect(socket)) { // the 4th: the oldest silent one goes
                c.ping();
                awaitClosedByDaemon(oldest);
                await("counted", () -> server.count(RpcServer.Closed.EVICTED) == 1);
                assertThat(a.isOpen()).isTrue();
            }
            try (KernLoaderClient l2 = KernLoaderClient.connect(socket)) {
                l2.log(true);
                // Three connections, two listening, then a listener limit of 2: a third LOG is refused
                try (KernLoaderClient l3 = KernLoaderClient.connect(socket)) {
                    assertThatThrownBy(() -> l3.log(true)).isInstanceOfSatisfying(LoaderException.class, e -> {
                        assertThat(e.code()).isEqualTo(128);
                        assertThat(e.getMessage()).isEqualTo("log: kern_loader has its most listeners (2)");
                    });
                    l3.ping(); // refused, and still served
                }
            }
        }
    }

    @Test void withEveryConnectionListeningANewClientIsRefusedWithAnErrorFrame() throws Exception {
        start(RpcLimits.defaults().withConnections(3, 3));
        List<KernLoaderClient> ls = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                ls.add(KernLoaderClient.connect(socket));
                ls.get(i).log(true);
            }
            assertThatThrownBy(() -> KernLoaderClient.connect(socket)).isInstanceOfSatisfying(LoaderException.class, e -> {
                assertThat(e.code()).isEqualTo(128);
                assertThat(e.getMessage()).startsWith("kern_loader serves its most connections (3)");
            });
            assertThat(server.refused()).isEqualTo(1);
            ls.get(0).ping();
        } finally {
            for (KernLoaderClient c : ls) c.close();
        }
    }

    @Test void aClientThatDoesNotReadItsEventsIsClosedAndNeverStallsTheLoader() throws Exception {
        start(RpcLimits.defaults().withTimeouts(60_000, 300_000));
        SocketChannel ch = greeted();
        ch.write(ByteBuffer.allocate(10).putInt(6).put((byte) Op.LOG.code()).putInt(1).put((byte) 1).flip());
        assertThat(RpcTest.frame(ch).get() & 0xff).as("subscribed").isEqualTo(Op.LOG.code() | 0x80); // then it reads no more
        String line = "x".repeat(200);
        for (int i = 0; i < 20_000; i++) loader.log().log(LogPriority.INFO, line); // ~4.5 MB: never blocks on the client
        await("closed as too slow", () -> server.count(RpcServer.Closed.OVERFLOW) == 1);
        assertThat(pingOk()).isTrue();
    }

    @Test void aClientThatDoesNotReadItsAnswersIsClosedAtTheWriteDeadline() throws Exception {
        start();
        loader.add(Servers.echo(dir, "echo"));
        SocketChannel ch = greeted();
        byte[] name = "echo".getBytes();
        ByteBuffer many = ByteBuffer.allocate(8000 * (4 + 5 + 2 + name.length));
        for (int i = 0; i < 8000; i++) many.putInt(5 + 2 + name.length).put((byte) Op.INFO.code()).putInt(i + 1).putShort((short) name.length).put(name);
        try {
            ch.write(many.flip()); // ~1.5 MB of answers it never reads
        } catch (IOException e) {
            // the daemon closed it before it had sent them all
        }
        await("closed at the write deadline", () -> server.count(RpcServer.Closed.WRITE_TIMEOUT) == 1);
        assertThat(pingOk()).isTrue();
    }

    @Test void aPortQueuesABoundedNumberOfMessagesWhileItsServerLoads() throws Exception {
        start();
        TestJars.jar(dir, "ordered.jar", "t.Ordered", "1", null, Map.of("t.Ordered", Servers.ORDERED));
        loader.add(TestJars.script(dir, "o.kern_server", Servers.script("ordered", "ordered.jar", "serve", "INIT init 5000\n")));
        try (KernLoaderClient c = KernLoaderClient.connect(socket)) {
            long port = c.lookup("ordered");
            byte[] body = java.nio.ByteBuffer.allocate(8).putInt(0).putInt(0).array();
            c.post(port, 0, body); // starts the load (INIT sleeps 5 s): the rest queue
            for (int i = 1; i < Port.MAX_QUEUED; i++) c.post(port, i, body);
            assertThatThrownBy(() -> c.post(port, 0, body)).isInstanceOfSatisfying(LoaderException.class, e -> {
                assertThat(e.code()).isEqualTo(112);
                assertThat(e.getMessage()).startsWith("port ordered has " + Port.MAX_QUEUED + " messages");
            });
        }
    }

    boolean pingOk() throws Exception {
        try (KernLoaderClient c = KernLoaderClient.connect(socket)) {
            c.ping();
            return true;
        }
    }

    static String str(ByteBuffer r) {
        byte[] b = new byte[r.getShort() & 0xffff];
        r.get(b);
        return new String(b);
    }
}
