package org.kextnet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.ref.WeakReference;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.kextnet.kernel.config.KernelCommands;
import org.kextnet.kernel.inet.Pinger;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.loader.ServerState;

/**
 * The enetlog sample as the build packages it (examples/enetlog: enetlog.jar, enetlog.kern_server), under a
 * kern_loader joined to its kernel and driven with the commands a person types: added and started, attached to
 * wire0 over its kernel control, the peer's pings logged line by line, swallow mode with pings still answered,
 * its registrations in kl_util -k, then unloaded with nothing of it left in the kernel and its class loader collected.
 */
class EnetlogSampleTest extends SampleDaemon {
    static final String TIME = "\\d\\d:\\d\\d:\\d\\d\\.\\d{6} ";

    static String mac(long m) {
        return String.format("%02x:%02x:%02x:%02x:%02x:%02x", (m >>> 40) & 0xff, (m >>> 32) & 0xff, (m >>> 24) & 0xff,
                (m >>> 16) & 0xff, (m >>> 8) & 0xff, m & 0xff);
    }

    void pings(int n) throws Exception {
        try (Pinger p = peer.pinger()) {
            for (int seq = 1; seq <= n; seq++) assertThat(p.ping(Ipv4.parse(KERNEL_IP), seq, 56, 5, TimeUnit.SECONDS)).as("ping %d", seq).isNotNegative();
        }
    }

    /** The lines of {@code ctl send enetlog show 256}, once at least {@code n} are there (the callout makes them every 20 ms). */
    List<String> lines(int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<String> got;
        do {
            Run r = run("ctl", "send", "enetlog", "show", "256");
            assertThat(r.code()).as(r.err()).isZero();
            got = r.out().lines().filter(l -> !l.isEmpty()).toList();
            if (got.size() >= n) return got;
            Thread.sleep(10);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("fewer than " + n + " lines: " + got);
    }

    @Test void addLogSwallowUnloadLeavesNothing() throws Exception {
        Run add = run("kl_util", "-a", sample("enetlog", "enetlog.kern_server").toString());
        assertThat(add.code()).as(add.err()).isZero();
        assertThat(add.out()).contains("enetlog: started, registrations {callout=1, kctl=1}");
        assertThat(run("ctl", "send", "enetlog", "attach", "wire0")).isEqualTo(new Run(0, "attached to wire0\n", ""));

        pings(2);
        String kernelMac = mac(KernelCommands.macFor(kernel, "wire0")), peerMac = mac(KernelCommands.macFor(peer, "wire0"));
        List<String> icmp = lines(4).stream().filter(l -> l.contains("ICMP")).toList();
        assertThat(icmp).hasSize(4);
        assertThat(icmp.get(0)).matches(TIME + "wire0 in  98 " + peerMac + " > " + kernelMac
                + " IPv4 10.99.0.2 > 10.99.0.1 ICMP echo request id \\d+ seq 1");
        assertThat(icmp.get(1)).matches(TIME + "wire0 out 98 " + kernelMac + " > " + peerMac
                + " IPv4 10.99.0.1 > 10.99.0.2 ICMP echo reply id \\d+ seq 1");
        assertThat(icmp.get(3)).endsWith("echo reply id " + icmp.get(2).replaceAll(".* id (\\d+) seq 2", "$1") + " seq 2");

        // A watcher, as docs/samples.md shows it: "watching", then each new line as it comes.
        CompletableFuture<Run> watch = CompletableFuture.supplyAsync(() -> run("ctl", "send", "--replies", "3", "--timeout", "10000", "enetlog", "watch"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!run("ctl", "send", "enetlog", "stats").out().contains("watchers 1,") && System.nanoTime() < deadline) Thread.sleep(5);
        pings(1);
        Run watched = watch.get(20, TimeUnit.SECONDS);
        assertThat(watched.code()).as(watched.err()).isZero();
        assertThat(watched.out().lines().toList()).satisfiesExactly(
                l -> assertThat(l).isEqualTo("watching"),
                l -> assertThat(l).matches(TIME + "wire0 in  98 .* ICMP echo request id \\d+ seq 1"),
                l -> assertThat(l).matches(TIME + "wire0 out 98 .* ICMP echo reply id \\d+ seq 1"));

        // Swallow mode: every frame waits for the release callout, the pings are still answered.
        assertThat(run("ctl", "send", "enetlog", "swallow", "wire0", "20").out()).isEqualTo("swallowing on wire0, re-injecting every 20 ms\n");
        pings(3);
        String stats = run("ctl", "send", "enetlog", "stats").out();
        assertThat(stats).startsWith("wire0 swallow (20 ms) in ").contains(" dropped 0\n").endsWith("watchers 0, records lost 0, lines not sent to watchers 0\n");
        long held = Long.parseLong(stats.replaceAll("(?s).* held (\\d+) .*", "$1"));
        assertThat(held).as("the 3 requests and 3 replies at least").isGreaterThanOrEqualTo(6);
        assertThat(run("kl_util", "-k").out()).contains("Loaded      enetlog (0.1.0-SNAPSHOT) <> {callout=2,iff=1,kctl=1} 0");
        assertThat(run("port", "send", "enetlog", "x").out()).contains("wire0 swallow (20 ms) in ");

        WeakReference<ClassLoader> cl = classLoaderOf("enetlog");
        Run unload = run("kl_util", "-u", "enetlog");
        assertThat(unload.code()).as(unload.err()).isZero();
        assertThat(loader.info("enetlog").state()).isEqualTo(ServerState.ALLOCATED);
        nothingLeft("enetlog");
        pings(1); // nothing holds frames any more
        assertCollected(cl);

        // Its control's name is its advertised port: connecting loads it again, fresh.
        assertThat(run("ctl", "send", "enetlog", "stats").out()).isEqualTo("watchers 0, records lost 0, lines not sent to watchers 0\n");
        assertThat(loader.info("enetlog").state()).isEqualTo(ServerState.LOADED);
        assertThat(run("kl_util", "-d", "enetlog").code()).isZero();
        nothingLeft("enetlog");
    }
}
