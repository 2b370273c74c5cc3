package org.kextnet.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code ./kextnet run --tun}: the main job's walk-through on a TUN device with Linux, in a network namespace the
 * command makes, as the other host (its ping and nc), and the tunnel's outer packets forwarded by Linux to the peer
 * kernel's own TUN device. The same facts as {@link MainJobTest} with Linux's addresses,
 * plus Linux's own view (its ping answered, nc's datagram echoed, a fragmented ping answered, tcplog's record of
 * nc's connection), and the namespace and TUN device gone afterwards, also when the run fails half-way. Needs root,
 * /dev/net/tun, ip, ping and nc: skipped without them, except under CI=true, where that fails.
 */
class MainJobTunTest {
    private final long pid = ProcessHandle.current().pid();
    private final String netns = "kxt-mj-run-" + pid, dev = "kxrun" + pid % 100000;

    static void requireRootAndTools() throws Exception {
        boolean root = Files.getAttribute(Path.of("/proc/self"), "unix:uid").equals(0);
        boolean tools = root && Files.exists(Path.of("/dev/net/tun")) && List.of("ip", "ping", "nc").stream().allMatch(t ->
                List.of(System.getenv().getOrDefault("PATH", "/usr/bin").split(":")).stream().anyMatch(d -> !d.isEmpty() && Files.isExecutable(Path.of(d, t))));
        if (!tools && "true".equalsIgnoreCase(System.getenv("CI"))) fail("CI=true but root, /dev/net/tun, ip, ping or nc is missing");
        assumeTrue(tools, "needs root, /dev/net/tun, ip, ping and nc");
    }

    static boolean exists(String... cmd) throws Exception {
        return DemoPeer.Exec.run(null, 15, cmd).ok();
    }

    @AfterEach void nothingLeftBehind() throws Exception {
        boolean ns = DemoPeer.Exec.run(null, 15, "ip", "netns", "list").output().lines().anyMatch(l -> l.split(" ")[0].equals(netns));
        boolean link = exists("ip", "link", "show", dev), peerLink = exists("ip", "link", "show", dev + "p");
        // Whatever the test did, leave the machine as it was (this test's names only).
        if (ns) DemoPeer.Exec.run(null, 15, "ip", "netns", "del", netns);
        if (link) DemoPeer.Exec.run(null, 15, "ip", "link", "del", dev);
        if (peerLink) DemoPeer.Exec.run(null, 15, "ip", "link", "del", dev + "p");
        assertThat(ns).as("namespace %s deleted by the run", netns).isFalse();
        assertThat(link).as("device %s gone with the run", dev).isFalse();
        assertThat(peerLink).as("device %sp gone with the run", dev).isFalse();
    }

    @Test void theWalkThroughRunsOnTunWithLinuxAsThePeer() throws Exception {
        requireRootAndTools();
        MainJobTest.Output o = MainJobTest.run("run", "--tun", "--netns", netns);
        assertThat(o.code()).as(o.out() + o.err()).isZero();
        String out = o.out();
        assertThat(out).startsWith("kextnet: --tun: kernel 10.77.0.2 on tun0 (Linux device " + dev + ") <--> Linux 10.77.0.1 in network namespace " + netns)
                .contains("3 packets transmitted, 3 received, 0% packet loss")
                .containsPattern("nc -u -w 1 10\\.77\\.0\\.2 7\nhello kextnet from Linux\n")
                .contains("3980 bytes from 10.77.0.2: icmp_seq=1")
                .contains("Linux -> 10.77.0.2: 3 pings and 1 UDP echo, 4 replies")
                .contains("in icmp=3 udp=1 tcp=0 other=0 out icmp=3 udp=1 tcp=0 other=0")
                .contains("Linux -> 10.77.0.2:80 over TCP: a 18-byte request, a 38-byte answer")
                .containsPattern("\n   2 in     closed +10\\.77\\.0\\.2:80 +10\\.77\\.0\\.1:\\d+ +18 +\\d+ +38 +\\d+ ");
        // A TUN frame has no link header: an ICMP echo of 56 data bytes is 84 bytes.
        MainJobTest.assertSamples(o, "Linux", "10.77.0.1", "10.77.0.2", "tun0", 84, "10.78.0.2");
        assertThat(out).endsWith("kern_loader: demo OK\nkextnet: --tun run OK\n");
    }

    @Test void aRunThatFailsHalfWayStillDeletesItsNamespace() throws Exception {
        requireRootAndTools();
        // The kernel's TUN device is made and moved into the namespace; the peer kernel's cannot be made, because a
        // device of its name exists already (one end of a veth pair, in this namespace).
        DemoPeer.Exec veth = DemoPeer.Exec.run(null, 15, "ip", "link", "add", dev + "p", "type", "veth", "peer", "name", dev + "q");
        assertThat(veth.ok()).as(veth.output()).isTrue();
        try {
            MainJobTest.Output o = MainJobTest.run("run", "--tun", "--netns", netns);
            assertThat(o.code()).as(o.out() + o.err()).isEqualTo(2);
            assertThat(o.err()).startsWith("kextnet run --tun: --tun peer kernel:1: ").contains("TUNSETIFF " + dev + "p");
        } finally {
            DemoPeer.Exec.run(null, 15, "ip", "link", "del", dev + "p"); // and its other end with it
        }
    }

    @Test void tunGoesWithoutConfigAndNetnsWithTun() {
        assertThat(MainJobTest.run("run", "--tun", "--config", "/nonexistent.conf")).isEqualTo(
                new MainJobTest.Output(2, "", "kextnet run: --tun and --config exclude each other\n"));
        assertThat(MainJobTest.run("run", "--netns", netns)).isEqualTo(new MainJobTest.Output(2, "", "kextnet run: --netns goes with --tun\n"));
    }

    @Test void anExistingNamespaceIsRefusedAndLeftAlone() throws Exception {
        requireRootAndTools();
        assertThat(exists("ip", "netns", "add", netns)).isTrue();
        MainJobTest.Output o = MainJobTest.run("run", "--tun", "--netns", netns);
        assertThat(o.code()).isEqualTo(2);
        assertThat(o.err()).startsWith("kextnet run --tun: ip netns add " + netns + ": ");
        assertThat(DemoPeer.Exec.run(null, 15, "ip", "netns", "list").output()).as("someone else's namespace is not deleted").contains(netns);
        DemoPeer.Exec.run(null, 15, "ip", "netns", "del", netns);
    }
}
