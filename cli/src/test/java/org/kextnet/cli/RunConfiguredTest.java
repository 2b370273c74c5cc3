package org.kextnet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import picocli.CommandLine;

/**
 * {@code kextnet run --config} as a person runs it, in a JVM of its own: its statistics come out when SIGINT or
 * SIGTERM stops it, and with {@code --admin-socket} the admin commands and kl_util reach its kernel over a real Unix
 * socket, as they reach the daemon's; a second run on the same socket is refused.
 */
class RunConfiguredTest {
    @TempDir Path dir;

    Path config() throws Exception {
        Path conf = dir.resolve("run.conf");
        Files.writeString(conf, "ifconfig m0 create memwire peer m1\nifconfig m0 inet 10.97.0.1/24 up\nservice udp-echo 7\n");
        return conf;
    }

    /** Starts {@code kextnet run ARGS} and waits (60 s at most) for its "running" line. */
    static Process start(ProcessBuilder pb) throws Exception {
        Process p = pb.start();
        Path out = pb.redirectOutput().file().toPath();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.readString(out, StandardCharsets.UTF_8).contains("kextnet: running")) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new AssertionError("run did not start: " + Files.readString(pb.redirectError().file().toPath()));
            }
            Thread.sleep(20);
        }
        return p;
    }

    static void signal(Process p, String sig) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).inheritIO().start();
        assertThat(kill.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(kill.exitValue()).isZero();
    }

    static CommandsTest.Run kextnet(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = Commands.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return new CommandsTest.Run(cl.execute(args), out.toString(), err.toString());
    }

    @Test void sigtermPrintsTheStatisticsAndTheAdminSocketServesTheKernel() throws Exception {
        Path sock = dir.resolve("run.sock");
        ProcessBuilder pb = FreshJvm.command(dir, "run", "--config", config().toString(), "--admin-socket", sock.toString());
        Process p = start(pb);
        try {
            assertThat(Files.readString(pb.redirectOutput().file().toPath())).contains("; admin socket " + sock);
            CommandsTest.Run ifs = kextnet("admin", "--socket", sock.toString(), "ifconfig", "m0");
            assertThat(ifs.code()).as(ifs.err()).isZero();
            assertThat(ifs.out()).contains("inet 10.97.0.1 netmask 0xffffff00");
            JsonNode socks = new ObjectMapper().readTree(kextnet("admin", "--socket", sock.toString(), "-j", "netstat", "-a").out());
            assertThat(socks.get("sockets")).anySatisfy(s -> assertThat(s.get("local_port").asInt()).isEqualTo(7));
            assertThat(kextnet("kl_util", "--socket", sock.toString(), "-s").out()).isEqualTo("No servers active\n");
            // kl_util's own fast path (no picocli), as the launcher runs it in a fresh JVM, with -j.
            CommandsTest.Run add = kextnet("kl_util", "--socket", sock.toString(), "-a", LoaderDemo.echoScript().toString());
            assertThat(add.code()).as(add.err()).isZero();
            FreshJvm.Run fast = FreshJvm.kextnet(dir, "kl_util", "--socket", sock.toString(), "-kj");
            assertThat(fast.code()).as(fast.err()).isZero();
            JsonNode echo = new ObjectMapper().readTree(fast.out()).get("servers").get(0);
            assertThat(echo.get("name").asText()).isEqualTo("echo");
            assertThat(echo.get("state").asText()).isEqualTo("Allocated");

            FreshJvm.Run second = FreshJvm.kextnet(dir, "run", "--config", config().toString(), "--admin-socket", sock.toString(), "--duration", "1");
            assertThat(second.code()).as("one process per socket").isEqualTo(ExitCodes.FAILED);
            assertThat(second.err()).contains(sock.toString()).hasLineCount(1);

            signal(p, "TERM");
            FreshJvm.Run r = FreshJvm.finish(p, pb);
            assertThat(r.out()).as("the statistics, after the signal").contains("Ipkts", "m0 ", "lo0 ");
            assertThat(r.out().indexOf("Ipkts")).isGreaterThan(r.out().indexOf("kextnet: running"));
            assertThat(r.code()).as("killed by SIGTERM: 128 + 15").isEqualTo(143);
            assertThat(r.err()).as("nothing on stderr: " + r.err()).isEmpty();
            assertThat(sock).as("the socket goes with it").doesNotExist();
        } finally {
            p.destroyForcibly();
        }
    }

    @Test void sigintPrintsTheStatisticsToo() throws Exception {
        ProcessBuilder pb = FreshJvm.command(dir, "run", "--config", config().toString());
        Process p = start(pb);
        try {
            signal(p, "INT");
            FreshJvm.Run r = FreshJvm.finish(p, pb);
            assertThat(r.out()).contains("Ipkts", "m0 ");
            assertThat(r.code()).isEqualTo(130);
        } finally {
            p.destroyForcibly();
        }
    }
}
