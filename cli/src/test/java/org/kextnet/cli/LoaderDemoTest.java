package org.kextnet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/**
 * The main job's kern_loader part: status, a demand load on the first message, an unload, the status again; then
 * the example NKE loaded with START, its traffic count, its registrations in kl_util -k, and their removal; then
 * tcplog on a TCP exchange between the peer and the kernel, its records shown as {@code kextnet tcplog} shows them.
 */
class LoaderDemoTest {
    @Test void runShowsStatusDemandLoadUnloadAndStatus() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream old = System.out;
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = Commands.commandLine().execute("run");
        } finally {
            System.setOut(old);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        assertThat(code).as(out).isZero();
        String demo = out.substring(out.indexOf("kern_loader -d "));
        assertThat(demo).containsSubsequence(
                "$ kl_util -s", "SERVER: echo Allocated",
                "STATUS: Allocated at address 0x10000000 for 0x1000 bytes", "PORTS: echo(advertised)",
                "$ kextnet port send echo", "echo: message on port echo, loading", "echo: loaded",
                "reply from echo: id 1, code 0, 17 bytes", "hello kern_loader",
                "$ kl_util -s", "SERVER: echo Loaded",
                "$ kl_util -u echo", "echo: unloaded",
                "$ kl_util -s echo", "STATUS: Allocated at address", "PORTS: echo(advertised)",
                // the example NKE: START, traffic counted by its IP filter and read over its kernel control, kl_util -k
                "$ kl_util -a ", "ipcount.kern_server", "ipcount: started, registrations {ipfilter=1, kctl=1}", "ipcount: loaded",
                "peer -> 10.99.0.1: 3 pings and 1 UDP echo, 4 replies",
                "$ kextnet ctl send ipcount stats", "in icmp=3 udp=1 tcp=0 other=0 out icmp=3 udp=1 tcp=0 other=0",
                "$ kl_util -k", "Loaded      ipcount (0.1.0-SNAPSHOT) <> {ipfilter=1,kctl=1} 0",
                "$ kl_util -u ipcount", "ipcount: unloaded",
                "$ kl_util -k", "Allocated   ipcount (0.1.0-SNAPSHOT) <> {} 0",
                "$ kextnet admin nke | grep -c ipcount", "0",
                // tcplog on a TCP exchange: its global socket filter records the kernel's listener and connection
                "$ kl_util -a ", "tcplog.kern_server", "tcplog: started, registrations ", "tcplog: loaded",
                "peer -> 10.99.0.1:80 over TCP: a 18-byte request, a 38-byte answer",
                "$ kextnet tcplog", "  Id Kind   State         Local                 Remote                 Bytes in",
                "   1 listen closed ", "   2 in     closed ",
                "$ kl_util -k", "Loaded      tcplog (0.1.0-SNAPSHOT) <> {",
                "$ kl_util -u tcplog", "tcplog: unloaded", "tcplog: unloaded, 0 registrations left",
                "kern_loader: demo OK", "kextnet: embedded run OK");
        assertThat(demo).containsPattern("\n   1 listen closed +0\\.0\\.0\\.0:80 +- +0 +0 +0 +0 - +-\n")
                .containsPattern("\n   2 in     closed +10\\.99\\.0\\.1:80 +10\\.99\\.0\\.2:\\d+ +18 +\\d+ +38 +1 \\d\\d:\\d\\d:\\d\\d\\.\\d{3} +\\d+ ms\n");
    }
}
