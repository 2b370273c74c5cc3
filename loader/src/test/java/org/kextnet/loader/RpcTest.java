package org.kextnet.loader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.config.KernelCommands;
import org.kextnet.loader.rpc.AdminCommands;
import org.kextnet.loader.rpc.KernLoaderClient;
import org.kextnet.loader.rpc.KernLoaderQuery;
import org.kextnet.loader.rpc.Op;
import org.kextnet.loader.rpc.PeerPolicy;
import org.kextnet.loader.rpc.Request;
import org.kextnet.loader.rpc.Response;
import org.kextnet.loader.rpc.Rpc;
import org.kextnet.loader.rpc.RpcServer;

class RpcTest {
    @TempDir Path dir;
    KernLoader loader;
    Kernel kernel;
    RpcServer server;
    Path socket;

    @BeforeEach void start() throws Exception {
        loader = new KernLoader();
        kernel = new Kernel("t");
        socket = dir.resolve("kern_loader.sock");
        server = new RpcServer(loader, AdminCommands.of(new KernelCommands(kernel)), new PeerPolicy(null), socket, "rw-------", null);
    }

    @AfterEach void stop() throws Exception {
        server.close();
        loader.close();
        kernel.close();
    }

    @Test void socketHasModeAndClientIsPrivilegedRoot() throws Exception {
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket))).isEqualTo("rw-------");
        try (KernLoaderClient c = KernLoaderClient.connect(socket)) {
            assertThat(c.version()).isEqualTo(Rpc.VERSION);
            assertThat(c.privileged()).isEqualTo(System.getProperty("user.name").equals("root"));
            assertThat(c.replyPort()).isPositive();
        }
    }

    @Test void managementOverTheSocket() throws Exception {
        Path script = Servers.echo(dir, "echo");
        try (KernLoaderClient c = KernLoaderClient.connect(socket)) {
            List<String> lines = new CopyOnWriteArrayList<>();
            c.onLog(l -> lines.add(l.text()));
            c.log(true);
            assertThat(c.list()).isEmpty();
            assertThat(StatusFormat.summary(c.list())).isEqualTo("No servers active\n");
            ServerInfo added = c.add(script);
            assertThat(added.state()).isEqualTo(ServerState.ALLOCATED);
            assertThat(StatusFormat.summary(c.list())).isEqualTo("SERVER: echo Allocated\n");
            ServerInfo i = c.info("echo");
            assertThat(StatusFormat.detail(i)).isEqualTo("""
                    SERVER: echo
                    RELOCATABLE: %s
                    STATUS: Allocated at address 0x%x for 0x%x bytes
                    PORTS: echo(advertised)
                    """.formatted(dir.resolve("echo-server.jar"), i.address(), i.size()));
            long port = c.lookup("echo");
            Request.Reply r = c.send(port, 42, "ping".getBytes());
            assertThat(r.code()).isZero();
            assertThat(r.id()).isEqualTo(42);
            assertThat(new String(r.data())).isEqualTo("ping");
            assertThat(c.info("echo").state()).isEqualTo(ServerState.LOADED);
            c.unload("echo");
            assertThat(c.info("echo").state()).isEqualTo(ServerState.ALLOCATED);
            assertThatThrownBy(() -> c.unload("echo")).isInstanceOfSatisfying(LoaderException.class, e -> assertThat(e.code()).isEqualTo(104));
            assertThatThrownBy(() -> c.info("nope")).isInstanceOfSatisfying(LoaderException.class, e -> assertThat(e.code()).isEqualTo(102));
            assertThatThrownBy(() -> c.lookup("nope")).isInstanceOfSatisfying(LoaderException.class, e -> assertThat(e.code()).isEqualTo(123));
            c.load("echo");
            c.delete("echo");
            assertThatThrownBy(() -> c.send(port, 1, new byte[0])).isInstanceOfSatisfying(LoaderException.class, e -> assertThat(e.code()).isEqualTo(123));
            c.ping();
            assertThat(lines).contains("echo: allocated", "echo: message on port echo, loading", "echo: loaded", "echo: unloading",
                    "echo: unloaded", "echo: deallocated");
        }
    }

    /** kl_util -s's synchronous client answers as the full client does, over the same socket. */
    @Test void queryClientAnswersAsTheFullClient() throws Exception {
        loader.add(Servers.echo(dir, "echo"));
        loader.add(Servers.echo(dir, "other"));
        loader.load("other");
        try (KernLoaderClient c = KernLoaderClient.connect(socket);
             SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            try (KernLoaderQuery q = KernLoaderQuery.open(ch, socket)) {
                assertThat(q.version()).isEqualTo(Rpc.VERSION);
                assertThat(q.list()).hasSize(2).isEqualTo(c.list()).isEqualTo(loader.list());
                assertThat(q.info("other")).isEqualTo(c.info("other"));
                assertThat(q.info("other").state()).isEqualTo(ServerState.LOADED);
                assertThatThrownBy(() -> q.info("nope")).isInstanceOfSatisfying(LoaderException.class, e -> assertThat(e.code()).isEqualTo(102));
                assertThat(q.list()).as("the connection goes on after an error").hasSize(2);
            }
            assertThat(ch.isOpen()).isFalse();
        }
    }

    @Test void thousandMessagesFromConcurrentClientsWhileTheServerLoads() throws Exception {
        TestJars.jar(dir, "ordered.jar", "t.Ordered", "1", null, Map.of("t.Ordered", Servers.ORDERED));
        loader.add(TestJars.script(dir, "o.kern_server", Servers.script("ordered", "ordered.jar", "serve", "INIT init 300\n")));
        int clients = 10, each = 100;
        List<KernLoaderClient> cs = new ArrayList<>();
        List<List<CompletableFuture<Response<Request.Reply>>>> futures = new ArrayList<>();
        try {
            for (int k = 0; k < clients; k++) cs.add(KernLoaderClient.connect(socket));
            long port = cs.get(0).lookup("ordered");
            List<Thread> senders = new ArrayList<>();
            for (int k = 0; k < clients; k++) {
                int client = k;
                List<CompletableFuture<Response<Request.Reply>>> fs = new ArrayList<>();
                futures.add(fs);
                senders.add(Thread.ofPlatform().start(() -> {
                    try {
                        for (int seq = 0; seq < each; seq++) {
                            fs.add(cs.get(client).sendAsync(port, seq, ByteBuffer.allocate(8).putInt(client).putInt(seq).array()));
                        }
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                }));
            }
            for (Thread t : senders) t.join(30_000);
            int delivered = 0;
            for (int k = 0; k < clients; k++) {
                for (int seq = 0; seq < each; seq++) {
                    Request.Reply r = cs.get(k).reply(futures.get(k).get(seq));
                    assertThat(r.code()).as("client %d seq %d in order", k, seq).isZero();
                    ByteBuffer b = ByteBuffer.wrap(r.data());
                    assertThat(b.getInt()).isEqualTo(k);
                    assertThat(b.getInt()).isEqualTo(seq);
                    delivered++;
                }
            }
            assertThat(delivered).isEqualTo(clients * each);
            assertThat(loader.names().lookup("ordered").delivered()).isEqualTo(clients * each);
        } finally {
            for (KernLoaderClient c : cs) c.close();
        }
    }

    @Test void portDeathWhenAClientGoesAway() throws Exception {
        loader.add(Servers.echo(dir, "echo"));
        try (KernLoaderClient a = KernLoaderClient.connect(socket)) {
            a.send(a.lookup("echo"), 1, "hello".getBytes());
        }
        try (KernLoaderClient b = KernLoaderClient.connect(socket)) {
            long port = b.lookup("echo");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            String stats;
            do {
                stats = new String(b.send(port, 0x7fff0001, new byte[0]).data());
            } while (!stats.contains("deaths=1") && System.nanoTime() < deadline && sleep());
            assertThat(stats).contains("deaths=1");
        }
    }

    private static boolean sleep() throws InterruptedException {
        Thread.sleep(10);
        return true;
    }

    @Test void adminCommandsReachTheKernel() throws Exception {
        try (KernLoaderClient c = KernLoaderClient.connect(socket)) {
            assertThat(c.admin("ifconfig lo0")).startsWith("lo0: flags=");
            c.admin("ifconfig lo0 mtu 1400");
            assertThat(kernel.findInterface("lo0").mtu()).isEqualTo(1400);
            assertThatThrownBy(() -> c.admin("ifconfig nope0 up")).isInstanceOfSatisfying(LoaderException.class, e -> {
                assertThat(e.code()).isEqualTo(124);
                assertThat(e.getMessage()).contains("no interface nope0");
            });
        }
    }

    @Test void unknownOperationMalformedFrameAndVersions() throws Exception {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ch.write(ByteBuffer.allocate(8).putInt(Rpc.MAGIC).putShort((short) 1).putShort((short) 0).flip());
            ByteBuffer hello = read(ch, 8 + 8);
            assertThat(hello.getInt()).isEqualTo(Rpc.MAGIC);
            assertThat(hello.getShort()).isEqualTo((short) 1);
            int ulen = read(ch, 2).getShort();
            read(ch, ulen);
            // op 0x7e is unknown to protocol 1: 121, and the connection goes on
            ch.write(ByteBuffer.allocate(9).putInt(5).put((byte) 0x7e).putInt(77).flip());
            ByteBuffer r = frame(ch);
            assertThat(r.get() & 0xff).isEqualTo(0x7e | 0x80);
            assertThat(r.getInt()).isEqualTo(77);
            assertThat(r.getShort()).isEqualTo((short) 121);
            // INFO with a string longer than the frame: 122, and the connection goes on
            ch.write(ByteBuffer.allocate(11).putInt(7).put((byte) Op.INFO.code()).putInt(78).putShort((short) 500).flip());
            r = frame(ch);
            r.get();
            assertThat(r.getInt()).isEqualTo(78);
            assertThat(r.getShort()).isEqualTo((short) 122);
            ch.write(ByteBuffer.allocate(9).putInt(5).put((byte) Op.PING.code()).putInt(79).flip());
            r = frame(ch);
            assertThat(r.get() & 0xff).isEqualTo(Op.PING.code() | 0x80);
            // a frame length outside the limits: 122, then the daemon closes the connection
            ch.write(ByteBuffer.allocate(4).putInt(Rpc.MAX_FRAME + 1).flip());
            r = frame(ch);
            r.get();
            r.getInt();
            assertThat(r.getShort()).isEqualTo((short) 122);
            assertThat(ch.read(ByteBuffer.allocate(1))).isEqualTo(-1);
        }
        assertThatThrownBy(() -> KernLoaderClient.connect(socket, 0)).isInstanceOfSatisfying(LoaderException.class, e -> assertThat(e.code()).isEqualTo(120));
        try (KernLoaderClient newer = KernLoaderClient.connect(socket, 9)) {
            assertThat(newer.version()).as("a newer client is answered in the daemon's version").isEqualTo(Rpc.VERSION);
            newer.ping();
        }
    }

    /**
     * An idle connection first reads without blocking for a moment (docs/rpc.md, "Latency"), then parks: frames that
     * come quickly, one byte at a time with pauses longer than that moment, after a long pause, and several in one
     * write are each answered once, in order, whichever way the daemon waited for them.
     */
    @Test void framesAreReadWhetherTheyComeWithinTheSpinOrAfterIt() throws Exception {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ch.write(ByteBuffer.allocate(8).putInt(Rpc.MAGIC).putShort((short) Rpc.VERSION).putShort((short) 0).flip());
            read(ch, 4 + 2 + 2 + 8);
            read(ch, read(ch, 2).getShort() + 4); // user name, then the daemon's pid
            int tag = 1;
            for (int i = 0; i < 200; i++, tag++) pingAndCheck(ch, ping(tag), tag); // quick: caught while spinning
            byte[] slow = ping(tag).array();
            for (byte b : slow) { // a byte every 2 ms: the spin runs out inside the frame and the read parks
                ch.write(ByteBuffer.wrap(new byte[] {b}));
                Thread.sleep(2);
            }
            expectPong(ch, tag++);
            Thread.sleep(50); // idle past the spin: the next wait parks at once
            pingAndCheck(ch, ping(tag), tag++);
            pingAndCheck(ch, ping(tag), tag++);
            ByteBuffer three = ByteBuffer.allocate(27).put(ping(tag)).put(ping(tag + 1)).put(ping(tag + 2)).flip();
            ch.write(three);
            for (int k = 0; k < 3; k++) expectPong(ch, tag++);
        }
    }

    private static ByteBuffer ping(int tag) {
        return ByteBuffer.allocate(9).putInt(5).put((byte) Op.PING.code()).putInt(tag).flip();
    }

    private static void pingAndCheck(SocketChannel ch, ByteBuffer ping, int tag) throws Exception {
        ch.write(ping);
        expectPong(ch, tag);
    }

    private static void expectPong(SocketChannel ch, int tag) throws Exception {
        ByteBuffer r = frame(ch);
        assertThat(r.get() & 0xff).isEqualTo(Op.PING.code() | 0x80);
        assertThat(r.getInt()).isEqualTo(tag);
        assertThat(r.getShort()).isZero();
    }

    static ByteBuffer read(SocketChannel ch, int n) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) if (ch.read(b) < 0) throw new java.io.EOFException();
        return b.flip();
    }

    static ByteBuffer frame(SocketChannel ch) throws Exception {
        int len = read(ch, 4).getInt();
        return read(ch, len);
    }
}
