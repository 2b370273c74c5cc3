package org.kextnet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.kextnet.kernel.inet.Pinger;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.stat.Stat;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.loader.ServerState;

/**
 * The firewall sample as the build packages it (examples/firewall: firewall.jar, firewall.kern_server), under a
 * kern_loader joined to its kernel and driven by {@code kextnet firewall}: a rule file loaded, the peer's traffic
 * blocked and allowed by it with the counters shown, a file with a mistake refused (naming file and line) with the
 * old set left in place, then unloaded with nothing of it left and its class loader collected.
 */
class FirewallSampleTest extends SampleDaemon {
    boolean ping(int seq) throws Exception {
        try (Pinger p = peer.pinger()) {
            return p.ping(Ipv4.parse(KERNEL_IP), seq, 56, 1, TimeUnit.SECONDS) >= 0;
        }
    }

    /** A datagram from the peer to the kernel's UDP echo service on {@code port}: whether the echo came back. */
    boolean echo(int port) throws Exception {
        try (UdpSocket so = peer.udp().open().bind(0, 0)) {
            so.send(ByteBuffer.wrap("hi".getBytes(StandardCharsets.US_ASCII)), Ipv4.parse(KERNEL_IP), port);
            return so.receive(ByteBuffer.allocate(16), 1, TimeUnit.SECONDS) != null;
        }
    }

    @Test void loadRulesBlockAndAllowShowCountersRefuseAMistakeUnload() throws Exception {
        admin.execute("service udp-echo 7");
        admin.execute("service udp-echo 8");
        Run add = run("kl_util", "-a", sample("firewall", "firewall.kern_server").toString());
        assertThat(add.code()).as(add.err()).isZero();
        assertThat(add.out()).contains("firewall: started, registrations {ipfilter=1, kctl=1}");

        Path rules = dir.resolve("rules.conf");
        Files.writeString(rules, """
                # the peer may ping and use port 8, not port 7
                block in proto udp from 10.99.0.0/24 to any port 7
                allow in proto icmp all
                allow out all
                """);
        assertThat(run("firewall", "load", rules.toString())).isEqualTo(new Run(0, "loaded rule set 1: 3 rules, default allow\n", ""));
        assertThat(echo(7)).as("port 7 blocked").isFalse();
        assertThat(echo(8)).as("port 8 allowed").isTrue();
        assertThat(ping(1)).isTrue();
        assertThat(run("firewall", "show").out()).isEqualTo("""
                # rule set 1: 3 rules; packets and bytes since it was loaded
                block in proto udp from 10.99.0.0/24 to any port 7   # 1 packets, 30 bytes
                allow in proto icmp all                              # 1 packets, 84 bytes
                allow out all                                        # 2 packets, 114 bytes
                default allow                                        # 1 packets, 30 bytes
                """);
        assertThat(kernel.stats().get(Stat.IP_FILTERED)).isEqualTo(1);

        // A mistake on line 3: refused whole, file and line named, the old set still judges.
        Path bad = dir.resolve("bad.conf");
        Files.writeString(bad, "allow in all\nallow out all\nblock in proto udp to any port 7-\n");
        Run refused = run("firewall", "load", bad.toString());
        assertThat(refused.code()).isEqualTo(ExitCodes.KERNEL_REFUSED);
        assertThat(refused.err()).isEqualTo("firewall load: " + bad + ":3: '' is not a port (0..65535) (EINVAL)\n");
        assertThat(run("firewall", "show").out()).startsWith("# rule set 1: 3 rules;");
        assertThat(echo(7)).isFalse();
        assertThat(run("firewall", "check", rules.toString()).out()).isEqualTo("ok: 3 rules, default allow\n");
        assertThat(run("firewall", "load", dir.resolve("missing.conf").toString()))
                .isEqualTo(new Run(1, "", "firewall load: " + dir.resolve("missing.conf") + ": no such file\n"));

        assertThat(run("kl_util", "-k").out()).contains("Loaded      firewall (0.1.0-SNAPSHOT) <> {ipfilter=1,kctl=1} 0");
        assertThat(run("port", "send", "firewall", "x").out()).contains("# rule set 1: 3 rules;");
        assertThat(run("firewall", "flush").out()).isEqualTo("flushed: rule set 2 has no rules, default allow\n");
        assertThat(echo(7)).isTrue();

        run("firewall", "load", rules.toString());
        WeakReference<ClassLoader> cl = classLoaderOf("firewall");
        Run unload = run("kl_util", "-u", "firewall");
        assertThat(unload.code()).as(unload.err()).isZero();
        assertThat(loader.info("firewall").state()).isEqualTo(ServerState.ALLOCATED);
        nothingLeft("firewall");
        assertThat(echo(7)).as("no filter: nothing blocked").isTrue();
        assertCollected(cl);

        // The command connects to the control by its port's name: that loads the server again, with an empty set.
        assertThat(run("firewall", "show").out()).startsWith("# rule set 0: 0 rules;");
        assertThat(loader.info("firewall").state()).isEqualTo(ServerState.LOADED);
        assertThat(run("kl_util", "-d", "firewall").code()).isZero();
        nothingLeft("firewall");
    }

    @Test void withoutTheSampleTheCommandSaysSo() {
        Run r = run("firewall", "show");
        assertThat(r.code()).isEqualTo(ExitCodes.KERNEL_REFUSED);
        assertThat(r.err()).isEqualTo("firewall show: ENOENT: connect to control firewall\n");
    }
}
