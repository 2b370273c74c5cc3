package org.kextnet.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kextnet.examples.tunnel.Tunnel;
import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.config.KernelCommands;
import org.kextnet.kernel.control.ControlSocket;
import org.kextnet.kernel.inet.Pinger;
import org.kextnet.kernel.link.tun.TunDevice;
import org.kextnet.kernel.wire.Ipv4;

/**
 * The tunnel sample between kextnet on a TUN device and Linux in a namespace: Linux's ping crosses the tunnel to
 * kextnet's ktun0 and kextnet's ping crosses it to Linux. Linux would do its half with foo-over-UDP ({@code ip fou add
 * port 5555 ipproto 4} and an {@code ipip} device with {@code encap fou}), whose format the sample speaks; this
 * kernel has neither module, so a small UDP relay stands in for it (udp_relay.py): a TUN device of its own in the
 * namespace, whose packets it carries in UDP datagrams to kextnet and back, exactly as fou would.
 */
class TunnelLinuxPeerTest {
    private final Teardown teardown = new Teardown();
    private NetNs ns;
    @TempDir Path dir;

    @AfterEach void tearDown() throws Exception {
        teardown.close();
        if (ns != null) assertThat(ns.exists()).as("namespace deleted").isFalse();
    }

    @Test void pingsCrossTheTunnelBothWays() throws Exception {
        Requirements.require("ping", "python3");
        ns = teardown.add(NetNs.create("smptun"));
        Kernel kernel = teardown.add(Stack.kernel("it-tunnel"));
        Stack.attach(kernel, ns, "tun0", TunDevice.Kind.TUN, "10.123.7.1/24", "10.123.7.2/24");

        // kextnet's half: the sample, a tunnel to the namespace's address, an address on ktun0.
        assertThat(new Tunnel().start(kernel.nke().open(Tunnel.NAME))).isZero();
        try (ControlSocket so = kernel.controls().connect(Tunnel.NAME, 0, true)) {
            so.send(ByteBuffer.wrap("create ktun0 local 10.123.7.2 remote 10.123.7.1 port 5555".getBytes(StandardCharsets.UTF_8)), 0);
            ByteBuffer b = ByteBuffer.allocate(256);
            assertThat(so.receive(b, 5, TimeUnit.SECONDS)).isPositive();
            assertThat(new String(b.array(), 0, b.position(), StandardCharsets.UTF_8)).startsWith("ktun0 local 10.123.7.2:5555");
        }
        KernelCommands admin = new KernelCommands(kernel);
        admin.execute("ifconfig ktun0 inet 10.123.9.2/30");

        // Linux's half: the relay's TUN device at 10.123.9.1/30, datagrams between 10.123.7.1:5555 and kextnet.
        String relayDev = ns.device("sr");
        Path script = dir.resolve("udp_relay.py");
        try (InputStream in = TunnelLinuxPeerTest.class.getResourceAsStream("udp_relay.py")) {
            Files.copy(in, script);
        }
        Process relay = new ProcessBuilder("ip", "netns", "exec", ns.name(), Requirements.PYTHON, script.toString(),
                relayDev, "10.123.7.1", "5555", "10.123.7.2", "5555").redirectErrorStream(true).start();
        teardown.add(() -> {
            relay.destroyForcibly(); // this test's own process, by its handle
            relay.waitFor(10, TimeUnit.SECONDS);
        });
        BufferedReader out = new BufferedReader(new InputStreamReader(relay.getInputStream(), StandardCharsets.UTF_8));
        String first = CompletableFuture.supplyAsync(() -> {
            try {
                return out.readLine();
            } catch (IOException e) {
                return "read failed: " + e;
            }
        }).get(30, TimeUnit.SECONDS);
        assertThat(first).as("the relay started").isEqualTo("ready");
        ns.ip("addr", "add", "10.123.9.1/30", "dev", relayDev);
        ns.ip("link", "set", relayDev, "mtu", "1472", "up");

        String ping = ns.mustExec(Duration.ofSeconds(30), "ping", "-c", "3", "-W", "2", "10.123.9.2");
        assertThat(ping).contains("3 packets transmitted, 3 received");
        try (Pinger p = kernel.pinger()) {
            for (int seq = 1; seq <= 2; seq++) assertThat(p.ping(Ipv4.parse("10.123.9.1"), seq, 56, 5, TimeUnit.SECONDS)).as("kextnet's ping %d", seq).isNotNegative();
        }
        try (ControlSocket so = kernel.controls().connect(Tunnel.NAME, 0, true)) {
            so.send(ByteBuffer.wrap("list".getBytes(StandardCharsets.UTF_8)), 0);
            ByteBuffer b = ByteBuffer.allocate(512);
            assertThat(so.receive(b, 5, TimeUnit.SECONDS)).isPositive();
            assertThat(new String(b.array(), 0, b.position(), StandardCharsets.UTF_8))
                    .isEqualTo("ktun0 local 10.123.7.2:5555 remote 10.123.7.1:5555 mtu 1472: out 5 packets 420 bytes, in 5 packets 420 bytes,"
                            + " dropped 0, loops 0");
        }
        assertThat(kernel.nke().find(Tunnel.NAME).removeAll()).isIn(0, org.kextnet.kpi.Errno.EBUSY);
        assertThat(kernel.nke().find(Tunnel.NAME).awaitRemoved(5, TimeUnit.SECONDS)).isTrue();
        assertThat(kernel.findInterface("ktun0")).isNull();
    }
}
