package org.kextnet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The daemon for real: {@code kern_loader} without -d detaches a second JVM, returns once its socket accepts,
 * serves kl_util, re-reads its configuration on SIGHUP and unloads everything and exits on SIGTERM.
 */
class KernLoaderDaemonTest {
    @TempDir Path dir;

    String kl(Path sock, String... args) {
        StringWriter out = new StringWriter();
        CommandLine cl = Commands.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(out, true));
        String[] full = new String[args.length + 2];
        full[0] = "kl_util";
        full[1] = "--socket=" + sock;
        System.arraycopy(args, 0, full, 2, args.length);
        cl.execute(full);
        return out.toString();
    }

    /** Polls {@code kl_util -s} until it prints {@code expected} or 30 s pass; returns the last output. */
    String awaitStatus(Path sock, String expected) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        String s;
        while (!(s = kl(sock, "-s")).equals(expected) && System.nanoTime() < deadline) Thread.sleep(50);
        return s;
    }

    @Test void detachesServesAndStopsOnSignals() throws Exception {
        Path script = LoaderDemo.echoScript();
        Path conf = dir.resolve("kern_loader.conf");
        Files.writeString(conf, "# servers\n\n" + script + "\n");
        Path sock = dir.resolve("run/kern_loader.sock");
        int code = Commands.commandLine().execute("kern_loader", "--socket", sock.toString(), "-c", conf.toString());
        assertThat(code).isZero();
        Path pidFile = sock.resolveSibling("kern_loader.pid");
        long pid = Long.parseLong(Files.readString(pidFile).strip());
        ProcessHandle daemon = ProcessHandle.of(pid).orElseThrow();
        try {
            assertThat(Files.getPosixFilePermissions(sock)).hasSize(2); // rw-------
            // The daemon answers once its socket is ready; configured servers are allocated concurrently.
            assertThat(awaitStatus(sock, "SERVER: echo Allocated\n")).isEqualTo("SERVER: echo Allocated\n");
            assertThat(kl(sock, "-l", "echo")).contains("echo: loaded");
            assertThat(kl(sock, "-s")).isEqualTo("SERVER: echo Loaded\n");
            // The daemon's loader is joined to its kernel: an NKE registers there and its control answers over the socket.
            assertThat(kl(sock, "-a", LoaderDemo.nkeScript().toString())).contains("ipcount: started, registrations {ipfilter=1, kctl=1}");
            assertThat(kl(sock, "-k")).contains("ipcount (0.1.0-SNAPSHOT) <> {ipfilter=1,kctl=1} 0");
            StringWriter ctl = new StringWriter();
            CommandLine cl = Commands.commandLine();
            cl.setOut(new PrintWriter(ctl, true));
            assertThat(cl.execute("ctl", "send", "--socket=" + sock, "ipcount", "stats")).isZero();
            assertThat(ctl.toString()).startsWith("in icmp=");
            assertThat(kl(sock, "-d", "ipcount")).contains("ipcount: deallocated");

            new ProcessBuilder("kill", "-HUP", Long.toString(pid)).inheritIO().start().waitFor(10, TimeUnit.SECONDS);
            String s = awaitStatus(sock, "SERVER: echo Allocated\n");
            assertThat(s).as("SIGHUP deallocated everything and re-read the configuration").isEqualTo("SERVER: echo Allocated\n");
            assertThat(Files.readString(sock.resolveSibling("kern_loader.log"))).contains("SIGHUP: re-reading the configuration");
        } finally {
            daemon.destroy(); // SIGTERM
            assertThat(daemon.onExit().get(30, TimeUnit.SECONDS).isAlive()).isFalse();
        }
        assertThat(Files.exists(sock)).as("socket removed").isFalse();
        assertThat(Files.exists(pidFile)).as("pid file removed").isFalse();
        assertThat(Files.readString(sock.resolveSibling("kern_loader.log"))).contains("shutting down: unloading every server");
    }
}
