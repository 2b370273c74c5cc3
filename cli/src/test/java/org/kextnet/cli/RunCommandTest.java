package org.kextnet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunCommandTest {
    @Test
    void embeddedDefaultShowsPingEchoFragmentationAndUnreachable() {
        String out = run("run");
        assertThat(out)
                .contains("64 bytes from 10.99.0.1: icmp_seq=3")
                .contains("3 packets transmitted, 3 packets received")
                .contains("echoed \"hello kextnet 2\" by 10.99.0.1:7")
                .contains("echoed intact, reassembled at both ends")
                .contains("ICMP port unreachable returned to peer")
                .contains("packets reassembled ok")
                .contains("in icmp=3 udp=1 tcp=0 other=0 out icmp=3 udp=1 tcp=0 other=0")
                .contains("kextnet: embedded run OK");
    }

    @Test
    void badConfigurationNamesFileAndLineAndExitsNonZero(@TempDir Path dir) throws Exception {
        Path conf = dir.resolve("bad.conf");
        Files.writeString(conf, "# a comment\nifconfig lo1 create loopback\nifconfig lo1 mut 1500\n");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream old = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = Commands.commandLine().execute("run", "--config", conf.toString(), "--duration", "1");
        } finally {
            System.setErr(old);
        }
        assertThat(code).as("a start that failed, not a usage error").isEqualTo(ExitCodes.FAILED);
        assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("kextnet: " + conf + ":3: ifconfig: unknown word 'mut'\n");
    }

    @Test
    void configuredKernelRunsForItsDuration(@TempDir Path dir) throws Exception {
        Path conf = dir.resolve("ok.conf");
        Files.writeString(conf, "ifconfig m0 create memwire peer m1\nifconfig m0 inet 10.98.0.1/24 up\nservice udp-echo 7\n");
        String out = run("run", "--config", conf.toString(), "--duration", "1");
        assertThat(out).contains("m0: flags=").contains("inet 10.98.0.1").contains("Ipkts");
    }

    private static String run(String... args) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream old = System.out;
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = Commands.commandLine().execute(args);
        } finally {
            System.setOut(old);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        assertThat(code).as(out).isZero();
        return out;
    }
}
