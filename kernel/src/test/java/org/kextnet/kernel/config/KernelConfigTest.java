package org.kextnet.kernel.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kextnet.kernel.testing.TestNet;
import org.kextnet.kernel.wire.Ipv4;

class KernelConfigTest {
    private final TestNet net = TestNet.oneLink();
    private final KernelCommands commands = new KernelCommands(net.kernel);

    @AfterEach void noLeaks() {
        commands.closeServices();
        net.close();
    }

    @Test void appliesEveryLineOfAFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("kernel.conf");
        Files.writeString(file, """
                # two memory wires and forwarding
                ifconfig mw0 create memwire peer mw1

                ifconfig mw0 inet 10.5.0.1/24 up   # trailing comment
                route add 10.6.0.0/16 10.5.0.2
                sysctl net.inet.ip.forwarding=1
                service udp-echo 7
                """);

        KernelConfig.apply(net.kernel, commands, file);

        assertThat(net.kernel.findInterface("mw0").isUp()).isTrue();
        assertThat(net.kernel.routes().lookup(Ipv4.parse("10.6.1.1")).gateway()).isEqualTo(Ipv4.parse("10.5.0.2"));
        assertThat(net.kernel.forwarding()).isTrue();
        assertThat(net.kernel.udp().sockets()).hasSize(1);
    }

    @Test void aBadLineIsNamedByFileAndLine(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("bad.conf");
        Files.writeString(file, """
                # comment
                ifconfig em0 mtu 1400

                ifconfig em0 mtu 9999999
                sysctl net.inet.ip.forwarding=1
                """);

        assertThatThrownBy(() -> KernelConfig.apply(net.kernel, commands, file))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.file()).isEqualTo(file.toString());
                    assertThat(e.line()).isEqualTo(4);
                    assertThat(e.getMessage()).isEqualTo(file + ":4: mtu 9999999 out of range 68..65535");
                });
        assertThat(net.em0().mtu()).isEqualTo(1400);      // the lines before it were applied,
        assertThat(net.kernel.forwarding()).isFalse();    // the ones after it were not
    }

    @Test void anUnreadableFileIsLine0(@TempDir Path dir) {
        Path missing = dir.resolve("missing.conf");

        assertThatThrownBy(() -> KernelConfig.apply(net.kernel, commands, missing))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.line()).isZero();
                    assertThat(e.getMessage()).startsWith(missing + ":0: cannot read");
                });
    }

    @Test void linesFromMemoryAreNamedBySource() {
        assertThatThrownBy(() -> KernelConfig.apply(commands, "embedded", List.of("ifconfig em0 up", "bogus")))
                .hasMessage("embedded:2: unknown command 'bogus' (expected ifconfig, route, arp, sysctl, service, netstat or nke)");
    }
}
