package org.kextnet.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** For the tests that run kextnet's commands as a person does: each in a fresh JVM on this class path. */
final class FreshJvm {
    private FreshJvm() {}

    /** A finished command's exit status and output. */
    record Run(int code, String out, String err) {}

    /** {@code java ... Kextnet ARGS}, not started; its output goes to files in {@code dir}. */
    static ProcessBuilder command(Path dir, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), Kextnet.class.getName()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectOutput(Files.createTempFile(dir, "out", ".txt").toFile())
                .redirectError(Files.createTempFile(dir, "err", ".txt").toFile());
    }

    /** What a process started from {@link #command} printed, once it has ended (within 120 s). */
    static Run finish(Process p, ProcessBuilder pb) throws Exception {
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(pb.command() + " did not end");
        }
        return new Run(p.exitValue(), Files.readString(pb.redirectOutput().file().toPath(), StandardCharsets.UTF_8),
                Files.readString(pb.redirectError().file().toPath(), StandardCharsets.UTF_8));
    }

    /** {@code kextnet ARGS} to its end. */
    static Run kextnet(Path dir, String... args) throws Exception {
        ProcessBuilder pb = command(dir, args);
        return finish(pb.start(), pb);
    }

    /** Starts a detached daemon on {@code sock} (with {@code more} options); returns its pid. */
    static long startDaemon(Path dir, Path sock, String... more) throws Exception {
        List<String> args = new ArrayList<>(List.of("kern_loader", "--socket", sock.toString()));
        args.addAll(List.of(more));
        Run r = kextnet(dir, args.toArray(String[]::new));
        assertThat(r.code()).as(r.err()).isZero();
        Matcher m = Pattern.compile("kern_loader: running, pid (\\d+), socket ").matcher(r.out());
        assertThat(m.find()).as(r.out()).isTrue();
        return Long.parseLong(m.group(1));
    }

    /** Stops a daemon with SIGTERM, or SIGKILL, and waits (60 s at most) for it to end. */
    static void stop(long pid, boolean kill) throws Exception {
        ProcessHandle h = ProcessHandle.of(pid).orElseThrow();
        if (kill) h.destroyForcibly(); else h.destroy();
        assertThat(h.onExit().get(60, TimeUnit.SECONDS).isAlive()).isFalse();
    }
}
