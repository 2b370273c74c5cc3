package org.kextnet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/**
 * The main job ({@code ./kextnet run}, the README's first command) run in this JVM as the launcher runs it, and the
 * facts of its walk-through of the samples read from its output: the firewall's blocked ping lost and counted (by
 * its rule and by the kernel's counters of its filter) and the allowed one answered; enetlog's lines for the frames
 * of two pings; the capture file read back with the six frames of three pings; pings across the tunnel both ways
 * with the tunnel's counters; each sample's registrations in kl_util -k and its counters in netstat -k; and nothing of
 * the samples left after their unload. The run checks the same facts itself and exits 1 if one fails; these
 * assertions read them independently of that verdict.
 */
class MainJobTest {
    static final String TIME = "\\d\\d:\\d\\d:\\d\\d\\.\\d{6}";

    record Output(int code, String out, String err) {
        /** The text of section "== TITLE...", up to the next section. */
        String section(String title) {
            int at = out.indexOf("\n== " + title);
            assertThat(at).as("section %s in:%n%s", title, out).isNotNegative();
            int end = out.indexOf("\n== ", at + 1);
            return out.substring(at, end < 0 ? out.length() : end);
        }
    }

    /** Runs the command line in this JVM with stdout and stderr captured. */
    static Output run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        PrintStream oldOut = System.out, oldErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = Commands.commandLine().execute(args);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        return new Output(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test void theMainJobWalksThroughTheSamples() {
        Output o = run("run");
        assertThat(o.code()).as(o.out() + o.err()).isZero();
        assertSamples(o, "peer", "10.99.0.2", "10.99.0.1", "wire0", 98, "10.99.0.2");
        assertThat(o.out()).endsWith("kern_loader: demo OK\nkextnet: embedded run OK\n");
    }

    /**
     * The samples' facts, whichever host sent the traffic ({@code peer} at {@code peerIp}) to the kernel at
     * {@code kernelIp} on {@code iface}, where an ICMP echo frame is {@code frameLength} bytes; the tunnel's other
     * end, the peer kernel, is at {@code peerKernelIp}.
     */
    static void assertSamples(Output o, String peer, String peerIp, String kernelIp, String iface, int frameLength, String peerKernelIp) {
        String ip = kernelIp.replace(".", "\\."), from = peerIp.replace(".", "\\.");
        String fw = o.section("firewall");
        assertThat(fw).containsSubsequence(
                "firewall: started, registrations {ipfilter=1, kctl=1}",
                "loaded rule set 1: 1 rule, default allow",
                peer + " -> " + kernelIp + ": ping lost (blocked)",
                "# rule set 1: 1 rule",
                "loaded rule set 2: 1 rule, default allow",
                peer + " -> " + kernelIp + ": ping answered in ",
                "# rule set 2: 1 rule");
        assertThat(fw).containsPattern("\nblock in proto icmp from " + from + " +# 1 packets, 84 bytes\ndefault allow +# 0 packets, 0 bytes\n")
                .containsPattern("\nallow in proto icmp from " + from + " +# 1 packets, 84 bytes\n");

        String enet = o.section("enetlog");
        assertThat(enet).contains("attached to " + iface + "\n");
        assertThat(enet.lines().filter(l -> l.matches(TIME + " " + iface + " in  " + frameLength + " .*IPv4 " + from + " > " + ip + " ICMP echo request id \\d+ seq \\d+"))).hasSize(2);
        assertThat(enet.lines().filter(l -> l.matches(TIME + " " + iface + " out " + frameLength + " .*IPv4 " + ip + " > " + from + " ICMP echo reply id \\d+ seq \\d+"))).hasSize(2);

        String cap = o.section("capture");
        assertThat(cap).containsPattern("session 1 stopped: 6 captured, 0 dropped, 6 written in 1 file: /\\S+/demo\\.pcapng\n")
                .contains("read back demo.pcapng: 6 packets\n");
        for (int i = 1; i <= 6; i += 2) {
            assertThat(cap).contains(String.format("  %d  %4d bytes  %s > %s ICMP echo request%n", i, frameLength, peerIp, kernelIp))
                    .contains(String.format("  %d  %4d bytes  %s > %s ICMP echo reply%n", i + 1, frameLength, kernelIp, peerIp));
        }

        String tunnel = "ktun0 local " + kernelIp + ":5555 remote " + peerKernelIp + ":5555 mtu 1472";
        assertThat(o.section("tunnel")).contains(tunnel + "\n")
                .contains("kextnet -> 10.9.0.2 through ktun0: 3 pings, 3 answered; peer -> 10.9.0.1: 1 ping, 1 answered\n")
                .contains(tunnel + ": out 4 packets 336 bytes, in 4 packets 336 bytes, dropped 0, loops 0\n");

        String counters = o.section("counters");
        // kl_util -k: each sample loaded, with its registrations.
        assertThat(counters).containsPattern("Loaded +firewall \\(0\\.1\\.0-SNAPSHOT\\) <> \\{ipfilter=1,kctl=1\\}")
                .containsPattern("Loaded +enetlog \\(0\\.1\\.0-SNAPSHOT\\) <> \\{callout=\\d+,iff=1,kctl=1\\}")
                .containsPattern("Loaded +capture \\(0\\.1\\.0-SNAPSHOT\\) <> \\{callout=1,kctl=1\\}")
                .containsPattern("Loaded +tunnel \\(0\\.1\\.0-SNAPSHOT\\) <> \\{ifnet=1,ipfilter=1,kctl=1,plumber=1,proto=1\\}");
        // netstat -k: the firewall's filter dropped the blocked ping; the others passed or took what they saw.
        assertThat(counters).containsPattern("\n  firewall: ipfilter firewall: \\d+ calls: \\d+ passed, 0 swallowed, 1 dropped; 0 faults")
                .containsPattern("\n  enetlog: iff enetlog: \\d+ calls: \\d+ passed, 0 swallowed, 0 dropped; 0 faults")
                .containsPattern("\n  capture: kctl capture: \\d+ calls; 0 faults")
                .containsPattern("\n  tunnel: ipfilter tunnel: \\d+ calls: \\d+ passed, 4 swallowed, 0 dropped; 0 faults");

        String unload = o.section("unload");
        for (String s : new String[] {"firewall", "enetlog", "capture", "tunnel"}) {
            assertThat(unload).contains(s + ": unloaded").containsPattern("Allocated +" + s + " \\(0\\.1\\.0-SNAPSHOT\\) <> \\{\\}");
        }
        assertThat(unload).contains("$ kextnet admin nke | grep -cE 'firewall|enetlog|capture|tunnel'\n0\n");
    }
}
