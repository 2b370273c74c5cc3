package org.kextnet.loader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kextnet.kernel.config.KernelCommands;
import org.kextnet.kernel.embed.KernelHarness;
import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;
import org.kextnet.kpi.control.ControlClient;
import org.kextnet.loader.rpc.AdminCommands;
import org.kextnet.loader.rpc.KernLoaderClient;
import org.kextnet.loader.rpc.KernelControls;
import org.kextnet.loader.rpc.Op;
import org.kextnet.loader.rpc.PeerPolicy;
import org.kextnet.loader.rpc.Request;
import org.kextnet.loader.rpc.Rpc;
import org.kextnet.loader.rpc.RpcServer;
import org.kextnet.loader.server.NkeBridge;
import org.kextnet.testkit.Frames;

/**
 * Kernel controls registered by loaded extensions, reached from another process through the RPC (protocol 2):
 * connect by name (loading the server whose advertised port has that name), send, receive what the extension
 * enqueued, set and get options; the connections die with the client; a version-1 client is told apart.
 */
class RpcControlTest {
    @TempDir Path dir;
    KernelHarness k;
    KernLoader loader;
    RpcServer server;
    Path sock;

    @BeforeEach void start() throws Exception {
        k = KernelHarness.create();
        NkeBridge bridge = new NkeBridge(k.kernel());
        loader = new KernLoader(LoaderOptions.defaults().withTimeouts(5_000, 1_000).withKernel(bridge, bridge));
        sock = dir.resolve("kl.sock");
        server = new RpcServer(loader, AdminCommands.of(new KernelCommands(k.kernel())), KernelControls.of(k.kernel()),
                new PeerPolicy(null), sock, "rw-------", null);
    }

    @AfterEach void stop() throws Exception {
        server.close();
        loader.close();
        k.close();
    }

    Path counter(String extra) throws Exception {
        TestJars.jar(dir, "ipfilter-counter.jar", NkeServerTest.COUNTER, "1.0", null,
                Map.of(NkeServerTest.COUNTER, TestJars.ipCounterSource()));
        return TestJars.script(dir, "ipcount.kern_server", "SERVER_NAME ipcount\nRELOC ipfilter-counter.jar\n"
                + "ADVERTIZED_PORT ipcount\nMAP ipcount query 0\n" + extra);
    }

    static String receive(ControlClient c) throws InterruptedException {
        ByteBuffer b = ByteBuffer.allocate(256);
        int n = c.receive(b, 5, TimeUnit.SECONDS);
        assertThat(n).as("received").isPositive();
        return new String(b.array(), 0, n, StandardCharsets.UTF_8);
    }

    static int send(ControlClient c, String s) {
        return c.send(ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8)), 0);
    }

    @Test void aRemoteClientConnectsByNameSendsReceivesAndUsesOptions() throws Exception {
        loader.add(counter("START\n"));
        k.injectIp(Frames.ipv4(k.peerIp(), k.ip(), Frames.PROTO_ICMP, Frames.icmpEcho(1, 1, new byte[8])));
        k.runPending();
        try (KernLoaderClient c = KernLoaderClient.connect(sock)) {
            assertThat(c.version()).isEqualTo(Rpc.VERSION);
            assertThat(c.controls()).extracting(Request.ControlInfo::name, Request.ControlInfo::owner, Request.ControlInfo::clients)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple("ipcount", "ipcount", 0));
            try (KernLoaderClient.RemoteControl ctl = c.connectControl("ipcount", 0)) {
                assertThat(ctl.address().unit()).isEqualTo(1);
                assertThat(ctl.address().id()).isEqualTo(k.kernel().controls().lookup("ipcount"));
                assertThat(c.controls().get(0).clients()).isEqualTo(1);
                assertThat(send(ctl, "stats")).isZero();
                assertThat(receive(ctl)).isEqualTo("in icmp=1 udp=0 tcp=0 other=0 out icmp=1 udp=0 tcp=0 other=0");
                assertThat(send(ctl, "bogus")).isZero();
                assertThat(receive(ctl)).isEqualTo("unknown command (stats, reset)");
                assertThat(ctl.getOption(1, null)).as("size asked").isEqualTo(64);
                byte[] counts = new byte[64];
                assertThat(ctl.getOption(1, counts)).isEqualTo(64);
                assertThat(ByteBuffer.wrap(counts).getLong(0)).isEqualTo(1);
                assertThat(ctl.getOption(1, new byte[8])).isEqualTo(-Errno.EINVAL);
                assertThat(ctl.getOption(9, counts)).isEqualTo(-Errno.ENOPROTOOPT);
                assertThat(ctl.setOption(2, new byte[0])).isZero();
                assertThat(ctl.getOption(1, counts)).isEqualTo(64);
                assertThat(ByteBuffer.wrap(counts).getLong(0)).isZero();
                assertThat(ctl.receive(ByteBuffer.allocate(16), 20, TimeUnit.MILLISECONDS)).as("nothing queued: time runs out").isZero();
            }
            assertThat(c.controls().get(0).clients()).as("closed").isZero();
            assertThatThrownBy(() -> c.connectControl("nope", 0)).isInstanceOfSatisfying(KpiException.class,
                    e -> assertThat(e.errno()).isEqualTo(Errno.ENOENT));
        }
    }

    @Test void connectingToTheNameOfAnAdvertisedPortLoadsItsServer() throws Exception {
        loader.add(counter(""));
        assertThat(loader.info("ipcount").state()).isEqualTo(ServerState.ALLOCATED);
        try (KernLoaderClient c = KernLoaderClient.connect(sock); KernLoaderClient.RemoteControl ctl = c.connectControl("ipcount", 0)) {
            assertThat(loader.info("ipcount").state()).isEqualTo(ServerState.LOADED);
            assertThat(send(ctl, "stats")).isZero();
            assertThat(receive(ctl)).startsWith("in icmp=0 ");
        }
        assertThat(loader.log().recent()).extracting(LogHub.Line::text).contains("ipcount: connect to control ipcount, loading");
        loader.unload("ipcount"); // the client closed its connection: stop answers 0
        assertThat(loader.info("ipcount").state()).isEqualTo(ServerState.ALLOCATED);
    }

    @Test void aClientThatGoesAwayIsDisconnectedAndOneThatStaysIsCutByTheForcedUnload() throws Exception {
        loader.add(counter("START\n"));
        KernLoaderClient gone = KernLoaderClient.connect(sock);
        gone.connectControl("ipcount", 0);
        gone.close(); // the process exits: its control connection closes with it
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (k.kernel().controls().list().get(0).clients() > 0 && System.nanoTime() < deadline) Thread.sleep(2);
        assertThat(k.kernel().controls().list().get(0).clients()).isZero();

        try (KernLoaderClient c = KernLoaderClient.connect(sock)) {
            KernLoaderClient.RemoteControl ctl = c.connectControl("ipcount", 0);
            assertThatThrownBy(() -> loader.unload("ipcount")).isInstanceOfSatisfying(LoaderException.class,
                    e -> assertThat(e.code()).isEqualTo(LoaderError.WONT_UNLOAD.code()));
            assertThat(send(ctl, "stats")).as("the forced unload disconnected it").isEqualTo(Errno.ENOTCONN);
            assertThat(ctl.receive(ByteBuffer.allocate(16), 1, TimeUnit.SECONDS)).isEqualTo(-1);
            ctl.close();
            assertThat(k.kernel().controls().list()).isEmpty();
        }
    }

    @Test void aVersionOneClientIsToldApart() throws Exception {
        loader.add(counter("START\n"));
        try (KernLoaderClient old = KernLoaderClient.connect(sock, 1)) {
            assertThat(old.version()).isEqualTo(1);
            assertThatThrownBy(() -> old.connectControl("ipcount", 0)).isInstanceOfSatisfying(LoaderException.class,
                    e -> assertThat(e.code()).isEqualTo(LoaderError.RPC_VERSION.code()));
        }
        // A client that agreed on version 1 and sends a version-2 operation anyway gets what a version-1 daemon answers.
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(sock));
            ch.write(ByteBuffer.allocate(8).putInt(Rpc.MAGIC).putShort((short) 1).putShort((short) 0).flip());
            RpcTest.read(ch, 16);
            RpcTest.read(ch, RpcTest.read(ch, 2).getShort());
            byte[] name = "ipcount".getBytes(StandardCharsets.UTF_8);
            ch.write(ByteBuffer.allocate(4 + 5 + 2 + name.length + 4).putInt(5 + 2 + name.length + 4).put((byte) Op.CTL_CONNECT.code())
                    .putInt(5).putShort((short) name.length).put(name).putInt(0).flip());
            ByteBuffer r = RpcTest.frame(ch);
            assertThat(r.get() & 0xff).isEqualTo(Op.CTL_CONNECT.code() | 0x80);
            assertThat(r.getInt()).isEqualTo(5);
            assertThat(r.getShort()).isEqualTo((short) 121);
        }
        assertThat(k.kernel().controls().list().get(0).clients()).as("nothing was connected").isZero();
    }

    @Test void aClosedConnectionAndTooManyConnections() throws Exception {
        loader.add(counter("START\n"));
        try (KernLoaderClient c = KernLoaderClient.connect(sock)) {
            KernLoaderClient.RemoteControl ctl = c.connectControl("ipcount", 0);
            ctl.close();
            assertThat(send(ctl, "stats")).as("closed").isEqualTo(Errno.ENOTCONN);
            for (int i = 1; i < Rpc.MAX_CONTROLS + 1; i++) c.connectControl("ipcount", 0);
            assertThatThrownBy(() -> c.connectControl("ipcount", 0)).isInstanceOfSatisfying(KpiException.class,
                    e -> assertThat(e.errno()).isEqualTo(Errno.ENOBUFS));
            assertThat(k.kernel().controls().list().get(0).clients()).isEqualTo(Rpc.MAX_CONTROLS);
        }
    }
}
