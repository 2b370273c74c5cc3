package org.kextnet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.kextnet.kernel.config.KernelCommands;
import org.kextnet.kernel.control.ControlSocket;
import org.kextnet.kernel.inet.Pinger;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.loader.KernLoader;
import org.kextnet.loader.LoaderOptions;
import org.kextnet.loader.ServerState;
import org.kextnet.loader.server.NkeBridge;

/**
 * The tunnel sample as the build packages it (examples/tunnel: tunnel.jar, tunnel.kern_server), loaded by a
 * kern_loader in each of two kernels joined by a memory wire (the daemon's, driven with kl_util, ctl and admin as a
 * person would; and the peer's, in this process): a ktun0 on each side, pings both ways across the tunnel, the
 * registrations in kl_util -k, then both unloaded, the interfaces gone, nothing left and the class loaders collected.
 */
class TunnelSampleTest extends SampleDaemon {
    static long ping(org.kextnet.kernel.Kernel from, String to, int seq) throws InterruptedException {
        try (Pinger p = from.pinger()) {
            return p.ping(Ipv4.parse(to), seq, 56, 5, TimeUnit.SECONDS);
        }
    }

    static String ask(ControlSocket so, String command) throws InterruptedException {
        assertThat(so.send(ByteBuffer.wrap(command.getBytes(StandardCharsets.UTF_8)), 0)).isZero();
        ByteBuffer b = ByteBuffer.allocate(4096);
        assertThat(so.receive(b, 5, TimeUnit.SECONDS)).isPositive();
        return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
    }

    @Test void pingsCrossATunnelBetweenTwoKernelsEachLoadingTheSample() throws Exception {
        Path script = sample("tunnel", "tunnel.kern_server");
        NkeBridge bridge = new NkeBridge(peer);
        try (KernLoader peerLoader = new KernLoader(LoaderOptions.defaults().withTimeouts(5_000, 1_000).withKernel(bridge, bridge))) {
            // This side, as an operator does it through kern_loader's socket.
            Run add = run("kl_util", "-a", script.toString());
            assertThat(add.code()).as(add.err()).isZero();
            assertThat(add.out()).contains("tunnel: started, registrations {ipfilter=1, kctl=1, plumber=1}");
            assertThat(run("ctl", "send", "tunnel", "create", "ktun0", "local", KERNEL_IP, "remote", PEER_IP).out())
                    .isEqualTo("ktun0 local 10.99.0.1:5555 remote 10.99.0.2:5555 mtu 1472\n");
            assertThat(run("admin", "ifconfig", "ktun0", "inet", "10.9.0.1/30").code()).isZero();
            // The peer's side, in this process.
            assertThat(peerLoader.add(script).state()).isEqualTo(ServerState.LOADED);
            try (ControlSocket so = peer.controls().connect("tunnel", 0, true)) {
                assertThat(ask(so, "create ktun0 local " + PEER_IP + " remote " + KERNEL_IP)).startsWith("ktun0 local 10.99.0.2:5555");
            }
            new KernelCommands(peer).execute("ifconfig ktun0 inet 10.9.0.2/30");

            for (int seq = 1; seq <= 3; seq++) assertThat(ping(kernel, "10.9.0.2", seq)).as("ping %d across the tunnel", seq).isNotNegative();
            assertThat(ping(peer, "10.9.0.1", 4)).as("and the other way").isNotNegative();
            assertThat(run("ctl", "send", "tunnel", "list").out()).isEqualTo("ktun0 local 10.99.0.1:5555 remote 10.99.0.2:5555 mtu 1472:"
                    + " out 4 packets 336 bytes, in 4 packets 336 bytes, dropped 0, loops 0\n");
            assertThat(run("admin", "netstat", "-i").out()).contains("ktun0");
            assertThat(run("kl_util", "-k").out()).contains("Loaded      tunnel (0.1.0-SNAPSHOT) <> {ifnet=1,ipfilter=1,kctl=1,plumber=1,proto=1} 0");

            WeakReference<ClassLoader> here = classLoaderOf("tunnel");
            Run unload = run("kl_util", "-u", "tunnel");
            assertThat(unload.code()).as(unload.err()).isZero();
            peerLoader.unload("tunnel");
            assertThat(kernel.findInterface("ktun0")).as("the interface went with the sample").isNull();
            assertThat(peer.findInterface("ktun0")).isNull();
            nothingLeft("tunnel");
            assertThat(peer.nke().find("tunnel")).isNull();
            assertThat(ping(kernel, PEER_IP, 5)).as("the wire itself works on").isNotNegative();
            assertCollected(here);
            assertThat(run("kl_util", "-d", "tunnel").code()).isZero();
        }
    }
}
