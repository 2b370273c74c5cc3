package org.kextnet.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.channels.ByteChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.kextnet.loader.StatusFormat;

/**
 * kl_util's two transports to kern_loader (docs/kern_loader.md, "kl_util's socket and start-up"): the JNI shim
 * (libkextnet-kl.so) and the JDK's SocketChannel, forced by {@code -Dkextnet.kl.transport}, talk to a kern_loader
 * over a real Unix socket and print the same lines, in this JVM and as the command in a fresh one; without the
 * library kl_util falls back to the JDK's. Where the shim is expected (CI=true, or a C compiler on the PATH: the
 * build then makes it), its failing to load fails the test.
 */
class KlUtilTransportTest extends InJvmDaemon {
    /** Twelve echo servers, s0 to s11; s3 loaded. */
    @BeforeEach void start() throws Exception {
        Path echo = LoaderDemo.echoScript();
        assertThat(echo).as("examples/echo-server is built before cli").isNotNull();
        for (int i = 0; i < 12; i++) {
            String n = "s" + i;
            Path script = dir.resolve(n + ".kern_server");
            Files.writeString(script, "SERVER_NAME " + n + "\nRELOC " + echo.resolveSibling("echo-server.jar") + "\nADVERTIZED_PORT p" + n
                    + "\nMAP p" + n + " echo 0\nINIT init 0\nFREE free 0\n");
            loader.add(script);
        }
        loader.load("s3");
    }

    @AfterEach void clearTransport() {
        System.clearProperty(LoaderSocket.TRANSPORT_PROPERTY);
    }

    /** Whether libkextnet-kl.so must be there: under CI, or where the build had a C compiler. */
    static boolean shimExpected() {
        if ("true".equals(System.getenv("CI"))) return true;
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
            for (String cc : List.of("gcc", "cc", "clang")) if (Files.isExecutable(Path.of(d, cc))) return true;
        return false;
    }

    /** Loads the shim; fails where it is expected, else skips the caller (the fallback is tested on its own). */
    static void requireShim() {
        boolean loaded = UnixSocketShim.load();
        if (shimExpected()) assertThat(loaded).as("libkextnet-kl.so loads: %s", UnixSocketShim.problem()).isTrue();
        assumeTrue(loaded, "no libkextnet-kl.so (built only where a C compiler is): " + UnixSocketShim.problem());
    }

    Run inProcess(String transport, char op, String... names) {
        return inProcess(transport, sock, op, names);
    }

    /** kl_util {@code -op names} against {@code socket} in this JVM, with the transport forced. */
    static Run inProcess(String transport, Path socket, char op, String... names) {
        System.setProperty(LoaderSocket.TRANSPORT_PROPERTY, transport);
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = new KlUtil(new PrintWriter(out), new PrintWriter(err, true)).run(op, List.of(names), false, false, socket);
        return new Run(code, out.toString(), err.toString());
    }

    @Test void fallbackTransportPrintsTheStatus() throws Exception {
        System.setProperty(LoaderSocket.TRANSPORT_PROPERTY, "jdk");
        assertThat(LoaderSocket.transport()).isEqualTo("jdk");
        try (ByteChannel ch = LoaderSocket.connect(sock)) {
            assertThat(ch).isInstanceOf(SocketChannel.class);
        }
        Run s = inProcess("jdk", 's');
        assertThat(s).isEqualTo(new Run(0, StatusFormat.summary(loader.list()), ""));
        assertThat(s.out()).contains("SERVER: s3 Loaded\n", "SERVER: s11 Allocated\n").hasLineCount(12);
    }

    @Test void jniAndFallbackTransportsPrintTheSameLines() throws Exception {
        requireShim();
        System.setProperty(LoaderSocket.TRANSPORT_PROPERTY, "jni");
        assertThat(LoaderSocket.transport()).isEqualTo("jni");
        try (ByteChannel ch = LoaderSocket.connect(sock)) {
            assertThat(ch).isInstanceOf(UnixSocketShim.class);
        }
        for (char op : new char[] {'s', 'k'}) {
            Run jni = inProcess("jni", op), jdk = inProcess("jdk", op);
            assertThat(jni).as("-%s", op).isEqualTo(jdk);
            assertThat(jni.code()).isZero();
        }
        assertThat(inProcess("jni", 's').out()).isEqualTo(StatusFormat.summary(loader.list()));
        Run named = inProcess("jni", 's', "s3", "nope", "s7");
        assertThat(named).isEqualTo(inProcess("jdk", 's', "s3", "nope", "s7"));
        assertThat(named.code()).isEqualTo(102);
        assertThat(named.out()).isEqualTo(StatusFormat.detail(loader.info("s3")) + StatusFormat.detail(loader.info("s7")));
        assertThat(named.err()).isEqualTo("kl_util: nope: unknown server: kern_loader error 102 (unknown server)\n");

        Path none = dir.resolve("none.sock");
        assertThat(inProcess("jni", none, 's')).as("no daemon: the same message").isEqualTo(inProcess("jdk", none, 's'))
                .isEqualTo(new Run(1, "", "kl_util: kernel loader inactive (" + none + ": No such file or directory)\n"));
    }

    @Test void longSocketPathIsAnError() {
        requireShim();
        Path longPath = dir.resolve("x".repeat(120));
        try {
            UnixSocketShim.connect(longPath).close();
            throw new AssertionError("connected to " + longPath);
        } catch (IOException e) {
            assertThat(e.getMessage()).contains("Unix domain path");
        }
    }

    /** The command as the launcher runs it, in a fresh JVM: both transports, and the fallback without the library. */
    @Test void commandInAFreshJvm() throws Exception {
        String expected = StatusFormat.summary(loader.list());
        Run jdk = java("-D" + LoaderSocket.TRANSPORT_PROPERTY + "=jdk");
        assertThat(jdk).isEqualTo(new Run(0, expected, ""));
        Path absent = dir.resolve("absent/libkextnet-kl.so");
        Run fallback = java("-D" + UnixSocketShim.LIBRARY_PROPERTY + "=" + absent);
        assertThat(fallback).as("no library: the JDK's socket").isEqualTo(new Run(0, expected, ""));
        Run forced = java("-D" + UnixSocketShim.LIBRARY_PROPERTY + "=" + absent, "-D" + LoaderSocket.TRANSPORT_PROPERTY + "=jni");
        assertThat(forced.code()).isEqualTo(1);
        assertThat(forced.err()).startsWith("kl_util: kernel loader inactive (" + sock + ": kextnet.kl.transport=jni: " + absent + " not found");

        requireShim();
        Run jni = java("-D" + LoaderSocket.TRANSPORT_PROPERTY + "=jni");
        assertThat(jni).isEqualTo(new Run(0, expected, ""));
        assertThat(java()).as("by default, the shim").isEqualTo(jni);
    }

    /** {@code java [jvmArgs] org.kextnet.cli.Kextnet kl_util --socket sock -s} on this JVM's class path. */
    Run java(String... jvmArgs) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path")));
        cmd.addAll(List.of(jvmArgs));
        cmd.addAll(List.of(Kextnet.class.getName(), "kl_util", "--socket", sock.toString(), "-s"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(dir.resolve("err.txt").toFile());
        pb.environment().remove("KEXTNET_TIMING");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("kl_util exits").isTrue();
        return new Run(p.exitValue(), out, Files.readString(dir.resolve("err.txt")));
    }
}
