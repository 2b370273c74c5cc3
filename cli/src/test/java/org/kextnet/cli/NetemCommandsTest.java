package org.kextnet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.kextnet.kernel.inet.Pinger;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.loader.KernLoader;
import org.kextnet.loader.LoaderOptions;
import org.kextnet.loader.ServerState;
import org.kextnet.loader.rpc.KernelControls;
import org.kextnet.loader.server.NkeBridge;

/**
 * netem as the project builds it (examples/netem: netem.jar and netem.kern_server), loaded by a kern_loader joined to
 * its kernel and driven with {@code kextnet ctl}: it impairs the loopback interface, its counters show the pings it
 * held, and unloading leaves nothing behind.
 */
class NetemCommandsTest extends InJvmDaemon {
    @Override KernLoader newLoader() {
        NkeBridge bridge = new NkeBridge(kernel);
        return new KernLoader(LoaderOptions.defaults().withTimeouts(5_000, 1_000).withKernel(bridge, bridge));
    }

    @Override KernelControls controls() { return KernelControls.of(kernel); }

    private static String field(String show, String name) {
        for (String w : show.split("\\s+")) if (w.startsWith(name + "=")) return w.substring(name.length() + 1);
        throw new AssertionError("no " + name + " in " + show);
    }

    @Test void theBuiltJarImpairsAnInterfaceThroughItsControlAndUnloadsCleanly() throws Exception {
        Path script = LoaderDemo.exampleScript("netem", "netem.jar", "netem.kern_server");
        assertThat(script).as("examples/netem is built before cli").isNotNull();
        Run add = run("kl_util", "-a", script.toString());
        assertThat(add.code()).as(add.err()).isZero();
        assertThat(add.out()).contains("netem: started, registrations {kctl=1}", "netem: loaded");

        Run set = run("ctl", "send", "netem", "set", "lo0", "out", "delay", "5ms", "seed", "42");
        assertThat(set.code()).as(set.err()).isZero();
        assertThat(set.out()).startsWith("lo0 out delay=5ms jitter=0 loss=0% dup=0% reorder=0% rate=none limit=1000 seed=42 seen=0 ");
        try (Pinger p = kernel.pinger()) {
            for (int seq = 1; seq <= 3; seq++) assertThat(p.ping(Ipv4.parse("127.0.0.1"), seq, 8, 5, TimeUnit.SECONDS)).isNotNegative();
        }
        String show = run("ctl", "send", "netem", "show").out();
        assertThat(field(show, "delayed")).as(show).isEqualTo("6");   // each ping: a request and a reply out of lo0
        assertThat(field(show, "released")).isEqualTo("6");
        assertThat(run("kl_util", "-k").out()).contains("Loaded      netem (0.1.0-SNAPSHOT) <> {").contains("iff=1");

        Run bad = run("ctl", "send", "netem", "set", "lo0", "out", "loss", "lots");
        assertThat(bad.out()).isEqualTo("error: 'lots' is not a percentage (1%, 0.5%)\n");
        assertThat(run("ctl", "send", "netem", "show").out()).startsWith("lo0 out delay=5ms ");

        Run unload = run("kl_util", "-u", "netem");
        assertThat(unload.code()).as(unload.err()).isZero();
        assertThat(loader.info("netem").state()).isEqualTo(ServerState.ALLOCATED);
        assertThat(loader.info("netem").registrations()).isEmpty();
        assertThat(kernel.nke().find("netem")).isNull();
        assertThat(run("admin", "nke").out()).doesNotContain("netem");
        try (Pinger p = kernel.pinger()) {
            assertThat(p.ping(Ipv4.parse("127.0.0.1"), 9, 8, 5, TimeUnit.SECONDS)).isNotNegative();
        }
    }
}
