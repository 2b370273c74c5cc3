package org.kextnet.loader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kextnet.loader.port.ReplyPort;
import org.kextnet.loader.script.ConfFile;
import org.kextnet.loader.script.ScriptException;

/** kern_loader.conf, boot order and restart, and messages that arrive while a server unloads. */
class ConfigurationTest {
    @TempDir Path dir;

    @Test void confFileLinesCommentsAndRelativePaths() throws Exception {
        Path conf = dir.resolve("kern_loader.conf");
        Files.writeString(conf, "# servers\n\n   \n  sub/a.kern_server  trailing words\n/abs/b.kern_server\n#c.kern_server\n");
        assertThat(ConfFile.read(conf)).containsExactly(
                new ConfFile.Entry(dir.resolve("sub/a.kern_server"), 4), new ConfFile.Entry(Path.of("/abs/b.kern_server"), 5));
        assertThatThrownBy(() -> ConfFile.read(dir.resolve("none.conf")))
                .isInstanceOfSatisfying(ScriptException.class, e -> assertThat(e.code()).isEqualTo(110));
    }

    @Test void badEntriesDoNotDisturbTheOthersAndRestartRereads() throws Exception {
        Path echo = Servers.echo(dir, "echo");
        Path other = Servers.echo(dir, "other");
        Path bad = TestJars.script(dir, "bad.kern_server", "SERVER_NAME bad\nRELOC echo-server.jar\nMAP p nothere\n");
        Path conf = dir.resolve("kern_loader.conf");
        Files.writeString(conf, bad + "\nmissing.kern_server\n" + other + "\n");
        try (KernLoader loader = new KernLoader()) {
            List<LoaderException> errors = loader.configure(List.of(echo), conf);
            assertThat(errors).extracting(LoaderException::code).containsExactly(108, 110);
            assertThat(loader.list()).extracting(ServerInfo::name).containsExactly("echo", "other"); // command line first
            loader.load("echo");
            Files.writeString(conf, other + "\n");
            assertThat(loader.abort(true)).isEmpty();
            assertThat(loader.list()).extracting(ServerInfo::name, ServerInfo::state).containsExactly(
                    org.assertj.core.groups.Tuple.tuple("echo", ServerState.ALLOCATED), org.assertj.core.groups.Tuple.tuple("other", ServerState.ALLOCATED));
        }
    }

    /** "Slow": FREE takes a while, so messages arrive while it unloads. */
    static final String SLOW = """
            package t;
            import org.kextnet.kpi.server.*;
            public final class Slow {
                public int serve(KernServ ks, PortMessage m, int arg) { m.reply(m.id(), m.bytes()); return 0; }
                public int free(KernServ ks, int ms) throws Exception { Thread.sleep(ms); return 0; }
            }
            """;

    @Test void messagesDuringAnUnloadLoadTheServerAgain() throws Exception {
        TestJars.jar(dir, "slow.jar", "t.Slow", "1", null, Map.of("t.Slow", SLOW));
        try (KernLoader loader = new KernLoader()) {
            loader.add(TestJars.script(dir, "slow.kern_server", Servers.script("slow", "slow.jar", "serve", "FREE free 300\nSTART\n")));
            ReplyPort rp = loader.names().newReplyPort((i, d) -> {});
            CompletableFuture<Void> unload = CompletableFuture.runAsync(() -> {
                try {
                    loader.unload("slow");
                } catch (LoaderException e) {
                    throw new RuntimeException(e);
                }
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (loader.info("slow").state() != ServerState.UNLOADING && System.nanoTime() < deadline) Thread.sleep(1);
            assertThat(loader.info("slow").state()).isEqualTo(ServerState.UNLOADING);
            CompletableFuture<Ports.Result> r = Ports.sendAsync(loader, rp, "slow", 9, "late".getBytes());
            unload.get(10, TimeUnit.SECONDS);
            Ports.Result got = r.get(10, TimeUnit.SECONDS);
            assertThat(got.status()).isZero();
            assertThat(got.text()).isEqualTo("late");
            assertThat(loader.info("slow").state()).as("loaded again by the queued message").isEqualTo(ServerState.LOADED);
        }
    }
}
