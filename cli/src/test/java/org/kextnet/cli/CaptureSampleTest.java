package org.kextnet.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.ref.WeakReference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.kextnet.kernel.inet.Pinger;
import org.kextnet.kernel.wire.Ipv4;
import org.kextnet.loader.ServerState;

/**
 * The capture sample as the build packages it (examples/capture: capture.jar, capture.kern_server), under a
 * kern_loader joined to its kernel: a pcapng file session started and stopped over its kernel control and read back
 * by tshark, {@code kextnet tcpdump} printing the peer's pings live, a session still open at unload closed by it,
 * nothing of it left and its class loader collected.
 */
class CaptureSampleTest extends SampleDaemon {
    static final String TIME = "\\d\\d:\\d\\d:\\d\\d\\.\\d{6} ";

    void pings(int n) throws Exception {
        try (Pinger p = peer.pinger()) {
            for (int seq = 1; seq <= n; seq++) assertThat(p.ping(Ipv4.parse(KERNEL_IP), seq, 56, 5, TimeUnit.SECONDS)).isNotNegative();
        }
    }

    String capture(String command) {
        Run r = run("ctl", "send", "capture", command);
        assertThat(r.code()).as(r.err()).isZero();
        return r.out();
    }

    /** The ICMP types tshark reads in {@code file}, one per frame; tshark is required under CI=true. */
    static List<String> tsharkIcmpTypes(Path file) throws Exception {
        boolean found = List.of(System.getenv().getOrDefault("PATH", "/usr/bin").split(":")).stream()
                .anyMatch(d -> !d.isEmpty() && Files.isExecutable(Path.of(d, "tshark")));
        if (!found && "true".equalsIgnoreCase(System.getenv("CI"))) fail("CI=true but tshark is not installed");
        assumeTrue(found, "needs tshark");
        Process p = new ProcessBuilder("tshark", "-n", "-r", file.toString(), "-T", "fields", "-e", "icmp.type")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("tshark reads " + file).isZero();
        return out.lines().toList();
    }

    @Test void fileSessionTcpdumpAndUnload() throws Exception {
        Run add = run("kl_util", "-a", sample("capture", "capture.kern_server").toString());
        assertThat(add.code()).as(add.err()).isZero();
        assertThat(add.out()).contains("capture: started, registrations {callout=1, kctl=1}");

        Path file = dir.resolve("icmp.pcapng");
        assertThat(capture("start wire0 file " + file + " filter icmp"))
                .isEqualTo("session 1 on wire0 (snaplen 65535, filter \"icmp\") to " + file + "\n");
        WeakReference<ClassLoader> cl = classLoaderOf("capture");
        pings(2);

        // kextnet tcpdump, as a person runs it: the next two ICMP frames, then it stops.
        CompletableFuture<Run> dump = CompletableFuture.supplyAsync(() -> run("tcpdump", "-i", "wire0", "-c", "2", "--timeout", "10000", "icmp"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!capture("list").contains(" watch (unit ") && System.nanoTime() < deadline) Thread.sleep(5);
        pings(1);
        Run dumped = dump.get(30, TimeUnit.SECONDS);
        assertThat(dumped.code()).as(dumped.err()).isZero();
        assertThat(dumped.out().lines().toList()).satisfiesExactly(
                l -> assertThat(l).matches(TIME + "wire0 in  IP 10.99.0.2 > 10.99.0.1: ICMP echo request, id \\d+, seq 1, length 64"),
                l -> assertThat(l).matches(TIME + "wire0 out IP 10.99.0.1 > 10.99.0.2: ICMP echo reply, id \\d+, seq 1, length 64"));
        assertThat(dumped.err()).isEqualTo("tcpdump: watching on wire0 (snaplen 65535, filter \"icmp\")\n2 packets printed\n");

        assertThat(capture("stop 1")).isEqualTo("session 1 stopped: 6 captured, 0 dropped, 6 written in 1 file: " + file + "\n");
        assertThat(tsharkIcmpTypes(file)).containsExactly("8", "0", "8", "0", "8", "0");
        Run bad = run("tcpdump", "-i", "nope0");
        assertThat(bad).isEqualTo(new Run(ExitCodes.KERNEL_REFUSED, "", "tcpdump: ENXIO: no interface nope0\n"));
        assertThat(run("tcpdump", "-i", "wire0", "udp", "and").code()).isEqualTo(ExitCodes.KERNEL_REFUSED);

        // A session still open at unload: stop(Kpi) has it write what it holds and close its file.
        Path open = dir.resolve("open.pcapng");
        capture("start wire0 file " + open + " filter icmp");
        pings(1);
        assertThat(run("kl_util", "-k").out()).contains("Loaded      capture (0.1.0-SNAPSHOT) <> {callout=1,iff=1,kctl=1} 0");
        Run unload = run("kl_util", "-u", "capture");
        assertThat(unload.code()).as(unload.err()).isZero();
        assertThat(loader.info("capture").state()).isEqualTo(ServerState.ALLOCATED);
        assertThat(tsharkIcmpTypes(open)).containsExactly("8", "0");
        nothingLeft("capture");
        assertCollected(cl);

        assertThat(capture("list")).as("loaded again on demand").isEqualTo("no sessions\n");
        assertThat(run("kl_util", "-d", "capture").code()).isZero();
        nothingLeft("capture");
    }
}
