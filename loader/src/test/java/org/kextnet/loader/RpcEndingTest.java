package org.kextnet.loader;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kextnet.loader.rpc.AdminCommands;
import org.kextnet.loader.rpc.KernLoaderClient;
import org.kextnet.loader.rpc.KernLoaderQuery;
import org.kextnet.loader.rpc.KernelControls;
import org.kextnet.loader.rpc.PeerPolicy;
import org.kextnet.loader.rpc.Request;
import org.kextnet.loader.rpc.Rpc;
import org.kextnet.loader.rpc.RpcLimits;
import org.kextnet.loader.rpc.RpcServer;

/**
 * Clients that notice (issue 13, item 5): when the daemon closes a connection it says why (protocol 3's CLOSING), and a
 * client tells that apart from a daemon that vanished, naming the daemon either way; and an answer of any size arrives
 * whole, in parts.
 */
class RpcEndingTest {
    @TempDir Path dir;
    KernLoader loader = new KernLoader();
    RpcServer server;

    @AfterEach void stop() throws Exception {
        if (server != null) server.close();
        loader.close();
    }

    Path start(AdminCommands admin, RpcLimits limits) throws IOException {
        Path socket = dir.resolve("kl.sock");
        server = new RpcServer(loader, admin, KernelControls.NONE, new PeerPolicy(null), socket, "rw-------", limits, null);
        return socket;
    }

    static String ended(KernLoaderClient c) throws Exception {
        IOException why = c.ended().get(30, TimeUnit.SECONDS);
        assertThat(c.lost()).isSameAs(why);
        return why.getMessage();
    }

    @Test void aShutdownOrAnIdleTimeOutIsToldNamingTheDaemon() throws Exception {
        Path socket = start(AdminCommands.NONE, RpcLimits.defaults().withTimeouts(5_000, 700));
        String daemon = "kern_loader (pid " + ProcessHandle.current().pid() + ", " + socket + ")";
        try (KernLoaderClient idle = KernLoaderClient.connect(socket); KernLoaderClient listener = KernLoaderClient.connect(socket)) {
            assertThat(idle.daemon()).isEqualTo(daemon);
            assertThat(idle.pid()).isEqualTo(ProcessHandle.current().pid());
            listener.log(true);
            assertThat(ended(idle)).isEqualTo(daemon + ": closed after 700 ms idle");
            assertThat(listener.lost()).as("still open").isNull();
            server.close();
            assertThat(ended(listener)).isEqualTo(daemon + ": shutting down");
        }
    }

    @Test void aDaemonThatVanishesIsLostWithoutNotice() throws Exception {
        Path socket = dir.resolve("fake.sock");
        try (ServerSocketChannel fake = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            fake.bind(UnixDomainSocketAddress.of(socket));
            Thread daemon = Thread.ofPlatform().start(() -> {
                try (SocketChannel ch = fake.accept()) { // greets as a protocol-3 kern_loader of pid 4242, then is gone
                    RpcTest.read(ch, 8);
                    ch.write(ByteBuffer.allocate(26).putInt(Rpc.MAGIC).putShort((short) 3).putShort((short) 1).putLong(0x100)
                            .putShort((short) 4).put("root".getBytes()).putInt(4242).flip());
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            try (KernLoaderClient c = KernLoaderClient.connect(socket)) {
                assertThat(ended(c)).isEqualTo("lost kern_loader (pid 4242, " + socket + "): the connection ended without notice");
            }
            daemon.join(10_000);
        }
    }

    @Test void anAnswerOfAnySizeArrivesWhole() throws Exception {
        String big = "0123456789abcdef".repeat(20 << 16) + "end\n"; // 20 MiB and more: longer than one frame may be
        String small = "x".repeat(70_000) + "end\n";                // longer than protocol 2's str
        Path socket = start(new AdminCommands() {
            @Override public String execute(String line) { return line.equals("big") ? big : small; }
            @Override public boolean isMutating(String line) { return false; }
        }, RpcLimits.defaults());
        try (KernLoaderClient c = KernLoaderClient.connect(socket)) {
            assertThat(c.version()).isEqualTo(Rpc.VERSION);
            assertThat(c.admin("big")).isEqualTo(big);
            assertThat(c.admin("small")).isEqualTo(small);
        }
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            try (KernLoaderQuery q = KernLoaderQuery.open(ch, socket)) {
                assertThat(q.call(new Request.Admin("big"))).isEqualTo(big);
            }
        }
        try (KernLoaderClient old = KernLoaderClient.connect(socket, 2)) {
            assertThat(old.admin("small")).as("protocol 2 carries a str, as it always did").hasSize(Rpc.MAX_STRING).isEqualTo(small.substring(0, Rpc.MAX_STRING));
        }
    }
}
