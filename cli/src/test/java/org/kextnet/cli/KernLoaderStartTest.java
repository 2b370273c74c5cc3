package org.kextnet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kextnet.cli.FreshJvm.Run;

/**
 * One daemon per socket (issue 13, item 4): the commands as a person runs them, each in its own JVM. A second start
 * on a live daemon's socket is refused and leaves the first daemon and its files alone; a stale socket (its daemon
 * killed) is reclaimed; a start that cannot succeed exits non-zero with its reason on stderr, detached or not.
 */
class KernLoaderStartTest {
    @TempDir Path dir;
    final List<Long> daemons = new ArrayList<>();

    Run kextnet(String... args) throws Exception {
        return FreshJvm.kextnet(dir, args);
    }

    long start(Path sock) throws Exception {
        long pid = FreshJvm.startDaemon(dir, sock);
        daemons.add(pid);
        return pid;
    }

    String status(Path sock) throws Exception {
        Run r = kextnet("kl_util", "--socket", sock.toString(), "-s");
        return r.code() + " " + r.out() + r.err();
    }

    static void stop(long pid, boolean kill) throws Exception {
        FreshJvm.stop(pid, kill);
    }

    @AfterEach void stopAll() {
        for (long pid : daemons) ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }

    @Test void aSecondDaemonOnALiveSocketIsRefusedAndTheFirstKeepsItsFiles() throws Exception {
        Path sock = dir.resolve("run/kl.sock");
        long first = start(sock);
        Path pidFile = dir.resolve("run/kl.pid");
        assertThat(Files.readString(pidFile).strip()).isEqualTo(Long.toString(first));
        String refused = "kern_loader: a kern_loader (pid " + first + ") already runs on " + sock;
        Run detached = kextnet("kern_loader", "--socket", sock.toString());
        assertThat(detached.code()).isEqualTo(1);
        assertThat(detached.err()).startsWith(refused);
        Run foreground = kextnet("kern_loader", "-d", "--socket", sock.toString());
        assertThat(foreground.code()).isEqualTo(1);
        assertThat(foreground.err()).startsWith(refused);
        // The first is untouched: it answers, and its socket and pid file are its own.
        assertThat(status(sock)).isEqualTo("0 No servers active\n");
        assertThat(Files.readString(pidFile).strip()).isEqualTo(Long.toString(first));

        // A second socket in the same directory: its own daemon, its own pid file; stopping one leaves the other's.
        Path other = dir.resolve("run/other.sock");
        long second = start(other);
        assertThat(Files.readString(dir.resolve("run/other.pid")).strip()).isEqualTo(Long.toString(second));
        stop(first, false);
        assertThat(Files.exists(sock)).isFalse();
        assertThat(Files.exists(pidFile)).isFalse();
        assertThat(Files.exists(other)).isTrue();
        assertThat(status(other)).isEqualTo("0 No servers active\n");
        stop(second, false);
    }

    @Test void aStaleSocketIsReclaimed() throws Exception {
        Path sock = dir.resolve("kl.sock");
        long killed = start(sock);
        stop(killed, true); // kill -9: its socket and pid file stay behind
        assertThat(Files.exists(sock)).isTrue();
        assertThat(Files.readString(dir.resolve("kl.pid")).strip()).isEqualTo(Long.toString(killed));
        long next = start(sock);
        assertThat(status(sock)).isEqualTo("0 No servers active\n");
        assertThat(Files.readString(dir.resolve("kl.pid")).strip()).isEqualTo(Long.toString(next));
        stop(next, false);

        // A socket file no one ever served from (bound and closed without unlinking), with no lock file beside it.
        Path orphan = dir.resolve("orphan.sock");
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(orphan));
        }
        assertThat(Files.exists(orphan)).isTrue();
        long reclaimed = start(orphan);
        assertThat(status(orphan)).isEqualTo("0 No servers active\n");
        stop(reclaimed, false);
    }

    @Test void groupMakesTheSocketGroupOwnedWithMode0660() throws Exception {
        Path sock = dir.resolve("g.sock");
        long pid = FreshJvm.startDaemon(dir, sock, "--group", "adm");
        daemons.add(pid);
        java.nio.file.attribute.PosixFileAttributes a = Files.readAttributes(sock, java.nio.file.attribute.PosixFileAttributes.class);
        assertThat(a.group().getName()).isEqualTo("adm");
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(a.permissions())).isEqualTo("rw-rw----");
        stop(pid, false);
        Run unknown = kextnet("kern_loader", "--socket", sock.toString(), "--group", "no-such-group-ldr");
        assertThat(unknown.code()).isEqualTo(1);
        assertThat(unknown.err()).startsWith("kern_loader: --group no-such-group-ldr: no such group");
    }

    @Test void aStartThatCannotSucceedExitsNonZeroWithTheReasonOnStderr() throws Exception {
        Path missing = dir.resolve("missing.conf");
        for (String mode : List.of("-d", "--pid-file=" + dir.resolve("x.pid"))) { // foreground, and detached
            Run r = kextnet("kern_loader", mode, "--socket", dir.resolve("c.sock").toString(), "-c", missing.toString());
            assertThat(r.code()).as(mode).isEqualTo(1);
            assertThat(r.err()).as(mode).startsWith("kern_loader: " + missing + ": cannot read configuration: ");
            assertThat(Files.exists(dir.resolve("c.sock"))).isFalse();
        }

        Files.writeString(dir.resolve("file"), "a regular file");
        Path underAFile = dir.resolve("file/kl.sock");
        Run noDir = kextnet("kern_loader", "--socket", underAFile.toString());
        assertThat(noDir.code()).isEqualTo(1);
        assertThat(noDir.err()).startsWith("kern_loader: cannot lock " + dir.resolve("file/kl.lock") + ": ");

        Path tooLong = dir.resolve("x".repeat(120) + ".sock"); // longer than a Unix socket address may be
        Run unbindable = kextnet("kern_loader", "--socket", tooLong.toString());
        assertThat(unbindable.code()).isEqualTo(1);
        assertThat(unbindable.err()).contains("kern_loader: cannot serve " + tooLong + ": ")
                .contains("kern_loader: the daemon exited with status 1; see ");

        Path notASocket = dir.resolve("notasocket");
        Files.writeString(notASocket, "keep me");
        Run refused = kextnet("kern_loader", "-d", "--socket", notASocket.toString());
        assertThat(refused.code()).isEqualTo(1);
        assertThat(refused.err()).startsWith("kern_loader: cannot serve " + notASocket + ": java.io.IOException: " + notASocket
                + " exists and is not a socket");
        assertThat(Files.readString(notASocket)).isEqualTo("keep me");
    }
}
