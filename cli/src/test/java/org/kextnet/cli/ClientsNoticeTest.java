package org.kextnet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kextnet.cli.FreshJvm.Run;

/**
 * Clients that notice (issue 13, item 5), as a person runs them against a real daemon: {@code kl_util -L} and
 * {@code ctl recv} end when the daemon goes away, shut down or killed, with a message that names the daemon (and
 * never blames the extension for the daemon's death).
 */
class ClientsNoticeTest {
    @TempDir Path dir;
    final List<Long> daemons = new ArrayList<>();
    final List<Process> clients = new ArrayList<>();

    @AfterEach void stopAll() {
        for (Process p : clients) p.destroyForcibly();
        for (long pid : daemons) ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }

    long daemon(Path sock, String... more) throws Exception {
        long pid = FreshJvm.startDaemon(dir, sock, more);
        daemons.add(pid);
        return pid;
    }

    @Test void klUtilListenEndsWhenTheDaemonShutsDownOrIsKilled() throws Exception {
        for (boolean kill : new boolean[] {false, true}) {
            Path sock = dir.resolve((kill ? "killed" : "stopped") + ".sock");
            long pid = daemon(sock);
            ProcessBuilder pb = FreshJvm.command(dir, "kl_util", "--socket", sock.toString(), "-L");
            Process listen = pb.start();
            clients.add(listen);
            // A status line reaches the listener once it is subscribed.
            Path marker = dir.resolve("marker-" + kill + ".kern_server");
            Files.writeString(marker, "SERVER_NAME m\nRELOC nowhere.jar\nSTART\n");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.readString(pb.redirectOutput().file().toPath()).contains("nowhere.jar")) {
                if (System.nanoTime() > deadline) throw new AssertionError("kl_util -L heard nothing");
                FreshJvm.kextnet(dir, "kl_util", "--socket", sock.toString(), "-a", marker.toString());
            }
            FreshJvm.stop(pid, kill);
            Run r = FreshJvm.finish(listen, pb);
            String daemon = "kern_loader (pid " + pid + ", " + sock + ")";
            assertThat(r.code()).as(r.err()).isEqualTo(1);
            assertThat(r.err()).isEqualTo(kill ? "kl_util: lost " + daemon + ": the connection ended without notice\n"
                    : "kl_util: " + daemon + ": shutting down\n");
        }
    }

    @Test void ctlRecvSaysTheDaemonWentAwayNotTheExtension() throws Exception {
        Path nke = LoaderDemo.nkeScript();
        assertThat(nke).as("examples/ipfilter-counter is built before cli").isNotNull();
        for (boolean kill : new boolean[] {false, true}) {
            Path sock = dir.resolve((kill ? "killed" : "stopped") + "-ctl.sock");
            long pid = daemon(sock, nke.toString());
            ProcessBuilder pb = FreshJvm.command(dir, "ctl", "recv", "--socket", sock.toString(), "--timeout", "120000", "ipcount");
            Process recv = pb.start();
            clients.add(recv);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!FreshJvm.kextnet(dir, "ctl", "list", "--socket", sock.toString()).out().contains("       1 ipcount")) { // its one client
                if (System.nanoTime() > deadline) throw new AssertionError("ctl recv never connected");
                Thread.sleep(100);
            }
            FreshJvm.stop(pid, kill);
            Run r = FreshJvm.finish(recv, pb);
            String daemon = "kern_loader (pid " + pid + ", " + sock + ")";
            assertThat(r.code()).as(r.err()).isEqualTo(1);
            assertThat(r.err()).isEqualTo(kill ? "ctl: lost " + daemon + ": the connection ended without notice\n"
                    : "ctl: " + daemon + ": shutting down\n").doesNotContain("ipcount closed");
        }
    }
}
