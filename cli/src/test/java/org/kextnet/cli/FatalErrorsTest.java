package org.kextnet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import javax.tools.ToolProvider;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No half-dead daemon (docs/reliability.md): an error that escapes any of the daemon's threads ends the process with
 * status 70 and a message naming the error and the thread; in this JVM with the exit caught, and for real in a daemon
 * whose heap an extension has filled.
 */
class FatalErrorsTest {
    @TempDir Path dir;

    record Outcome(String err, int status, int cleanups) {}

    /** Runs {@code run} with a handler whose halt is caught; waits (bounded) for the halt unless {@code halts} is false. */
    static Outcome die(boolean halts, FatalErrorsRun run) throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        AtomicInteger status = new AtomicInteger(-1), cleanups = new AtomicInteger();
        java.util.concurrent.CountDownLatch halted = new java.util.concurrent.CountDownLatch(1);
        FatalErrors f = new FatalErrors(new PrintStream(err, true, StandardCharsets.UTF_8), err, cleanups::incrementAndGet, s -> {
            status.set(s);
            halted.countDown();
        });
        run.run(f);
        if (halts) assertThat(halted.await(30, TimeUnit.SECONDS)).as("halted").isTrue();
        else Thread.sleep(100); // (nothing to wait for: it must not halt)
        synchronized (err) {
            return new Outcome(err.toString(StandardCharsets.UTF_8), status.get(), cleanups.get());
        }
    }

    interface FatalErrorsRun { void run(FatalErrors f) throws Exception; }

    static void throwIn(FatalErrors f, String name, RuntimeException orNull, Error error) throws InterruptedException {
        Thread t = Thread.ofPlatform().name(name).unstarted(() -> {
            if (error != null) throw error;
            throw orNull;
        });
        t.setUncaughtExceptionHandler(f);
        t.start();
        t.join(10_000);
    }

    @Test void anErrorInAnyThreadEndsTheProcessWithAMessage() throws Exception {
        Outcome oom = die(true, f -> throwIn(f, "kern_loader-accept", null, new OutOfMemoryError("Java heap space")));
        assertThat(oom.err()).isEqualTo("kern_loader: fatal: java.lang.OutOfMemoryError: Java heap space in thread kern_loader-accept;"
                + " exiting with status 70 so that a supervisor can restart kern_loader" + System.lineSeparator());
        assertThat(oom.status()).isEqualTo(70);
        assertThat(oom.cleanups()).isEqualTo(1);

        Outcome bug = die(true, f -> throwIn(f, "kern_loader-conn", new IllegalStateException("a bug"), null));
        assertThat(bug.err()).startsWith("kern_loader: fatal: java.lang.IllegalStateException: a bug in thread kern_loader-conn;")
                .contains("\tat "); // with its stack trace
        assertThat(bug.status()).isEqualTo(70);
    }

    @Test void onlyTheFirstReportsAndAnOrderlyExitOnlyPrints() throws Exception {
        Outcome two = die(true, f -> {
            throwIn(f, "a", null, new StackOverflowError());
            throwIn(f, "b", null, new InternalError("second"));
        });
        assertThat(two.err()).contains("in thread a").doesNotContain("second");
        assertThat(two.cleanups()).isEqualTo(1);

        Outcome stopping = die(false, f -> {
            f.stopping();
            throwIn(f, "kern_loader-shutdown", new IllegalStateException("late"), null);
        });
        assertThat(stopping.status()).as("no exit while stopping").isEqualTo(-1);
        assertThat(stopping.err()).startsWith("kern_loader: while stopping, in thread kern_loader-shutdown: java.lang.IllegalStateException: late");
    }

    /** An extension that takes the whole heap in its INIT and keeps it, catching its own OutOfMemoryErrors. */
    static final String HOG = """
            package t;
            import org.kextnet.kpi.server.KernServ;
            public final class Hog {
                private static final java.util.List<Object> HELD = new java.util.ArrayList<>();
                public static int init(KernServ ks, int arg) {
                    for (int size = 1 << 20; size >= 16; size >>= 4) {
                        try {
                            while (true) HELD.add(new byte[size]);
                        } catch (OutOfMemoryError e) {
                            // smaller pieces next, until nothing is left
                        }
                    }
                    return 0;
                }
            }
            """;

    @Test void aDaemonWhoseHeapIsExhaustedExitsWith70AndSaysWhy() throws Exception {
        Path jar = hogJar();
        Path script = dir.resolve("hog.kern_server");
        Files.writeString(script, "SERVER_NAME hog\nRELOC " + jar + "\nINIT init 0\nSTART\n");
        Path sock = dir.resolve("kl.sock");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx96m",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), Kextnet.class.getName(),
                "kern_loader", "-d", "--socket", sock.toString(), script.toString()));
        File err = dir.resolve("err.txt").toFile();
        Process p = new ProcessBuilder(cmd).redirectError(err).redirectOutput(dir.resolve("out.txt").toFile()).start();
        try {
            // A client arriving while the heap is full: whichever thread meets the error first, the process must end.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (p.isAlive() && System.nanoTime() < deadline) {
                try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                    ch.configureBlocking(false); // never wait on a full backlog
                    ch.connect(UnixDomainSocketAddress.of(sock));
                } catch (java.io.IOException e) {
                    // not yet listening, or gone
                }
                p.waitFor(200, TimeUnit.MILLISECONDS);
            }
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("the daemon exited").isTrue();
            String stderr = Files.readString(err.toPath());
            assertThat(p.exitValue()).as(stderr).isEqualTo(70);
            // The thread's name if there was memory left to say it, else the message made in advance.
            assertThat(stderr).containsPattern("kern_loader: fatal: java.lang.OutOfMemoryError(: .* in thread \\S+| in a daemon thread \\(no memory"
                    + " left to say more\\)); exiting with status 70 so that a supervisor can restart kern_loader");
        } finally {
            p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
        // What a supervisor does next: a fresh daemon on the same socket (reclaimed if the dying one could not remove it).
        long restarted = FreshJvm.startDaemon(dir, sock);
        try {
            assertThat(FreshJvm.kextnet(dir, "kl_util", "--socket", sock.toString(), "-s").out()).isEqualTo("No servers active\n");
        } finally {
            FreshJvm.stop(restarted, false);
        }
    }

    Path hogJar() throws Exception {
        Path src = dir.resolve("src/t/Hog.java");
        Files.createDirectories(src.getParent());
        Files.writeString(src, HOG);
        Path classes = dir.resolve("classes");
        int rc = ToolProvider.getSystemJavaCompiler().run(null, null, null, "-d", classes.toString(), "-cp", System.getProperty("java.class.path"),
                "-proc:none", src.toString());
        assertThat(rc).as("javac").isZero();
        Manifest mf = new Manifest();
        mf.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        mf.getMainAttributes().putValue("Kext-Server-Class", "t.Hog");
        mf.getMainAttributes().putValue("Kext-Server-Version", "1");
        Path jar = dir.resolve("hog.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar), mf)) {
            out.putNextEntry(new JarEntry("t/Hog.class"));
            out.write(Files.readAllBytes(classes.resolve("t/Hog.class")));
            out.closeEntry();
        }
        return jar;
    }
}
