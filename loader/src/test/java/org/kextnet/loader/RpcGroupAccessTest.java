package org.kextnet.loader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.kextnet.kernel.Kernel;
import org.kextnet.kernel.config.KernelCommands;
import org.kextnet.loader.rpc.AdminCommands;
import org.kextnet.loader.rpc.GroupDatabase;
import org.kextnet.loader.rpc.KernelControls;
import org.kextnet.loader.rpc.PeerPolicy;
import org.kextnet.loader.rpc.RpcLimits;
import org.kextnet.loader.rpc.RpcServer;

/**
 * {@code --group} with real users (created for the test and removed after; it needs root, which CI has): the socket is
 * owned by the group with mode 0660; a user for whom it is a supplementary group connects and is privileged; a user
 * outside it cannot even connect, nor can the member's process once it has dropped its supplementary groups.
 */
class RpcGroupAccessTest {
    static final String GROUP = "ldr-kl-admins", MEMBER = "ldr-kl-member", OTHER = "ldr-kl-other";

    static void sh(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", cmd) + ": " + out).isZero();
    }

    static void quietly(String... cmd) throws Exception {
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(60, TimeUnit.SECONDS);
    }

    @BeforeAll static void users() throws Exception {
        boolean root = "root".equals(System.getProperty("user.name"));
        if ("true".equals(System.getenv("CI"))) assertThat(root).as("CI runs as root").isTrue();
        assumeTrue(root, "creating users needs root");
        removeUsers(); // left by a run that was killed
        sh("groupadd", GROUP);
        sh("useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", "--groups", GROUP, MEMBER);
        sh("useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", OTHER);
    }

    @AfterAll static void removeUsers() throws Exception {
        if (!"root".equals(System.getProperty("user.name"))) return;
        quietly("userdel", MEMBER);
        quietly("userdel", OTHER);
        quietly("groupdel", GROUP);
    }

    @Test void theGroupOwnsTheSocketAndItsMembersArePrivileged() throws Exception {
        assertThat(GroupDatabase.SYSTEM.members(GROUP)).as("the group database").containsExactly(MEMBER);
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "kl-ldr-group-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path socket = dir.resolve("kl.sock");
        try (Kernel kernel = new Kernel("t"); KernLoader loader = new KernLoader();
             RpcServer server = new RpcServer(loader, AdminCommands.of(new KernelCommands(kernel)), KernelControls.NONE,
                     new PeerPolicy(GROUP), socket, "rw-rw----", RpcLimits.defaults(), null)) {
            loader.add(Servers.echo(dir, "echo"));
            PosixFileAttributes a = Files.readAttributes(socket, PosixFileAttributes.class);
            assertThat(a.group().getName()).isEqualTo(GROUP);
            assertThat(PosixFilePermissions.toString(a.permissions())).isEqualTo("rw-rw----");

            OtherUser.Outcome member = OtherUser.run(dir, List.of("--reuid", MEMBER, "--regid", MEMBER, "--init-groups"),
                    socket.toString(), "echo", dir.resolve("echo.kern_server").toString());
            assertThat(member.status()).as(member.out()).isZero();
            assertThat(member.out()).contains("user " + MEMBER + " privileged true");
            assertThat(member.codes()).containsEntry("list", 0).containsEntry("unload", 0).containsEntry("admin-change", 0);

            OtherUser.Outcome other = OtherUser.run(dir, List.of("--reuid", OTHER, "--regid", OTHER, "--init-groups"),
                    socket.toString(), "echo", "x");
            assertThat(other.status()).isNotZero();
            assertThat(other.out()).contains("Permission denied");

            OtherUser.Outcome dropped = OtherUser.run(dir, List.of("--reuid", MEMBER, "--regid", MEMBER, "--clear-groups"),
                    socket.toString(), "echo", "x");
            assertThat(dropped.status()).isNotZero();
            assertThat(dropped.out()).as("the socket's mode decides access by the process's own groups").contains("Permission denied");
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
