package org.kextnet.loader;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs {@link NonRootClient} in a second JVM under other credentials ({@code setpriv} when this runs as root): the
 * project's classes copied where any user can read them, under {@code dir} (which must be world-traversable).
 */
final class OtherUser {
    private OtherUser() {}

    /** What the client printed and its exit status; {@link #codes} parses its "op code" lines. */
    record Outcome(int status, String out) {
        Map<String, Integer> codes() {
            Map<String, Integer> codes = new LinkedHashMap<>();
            for (String line : out.split("\n")) {
                String[] w = line.trim().split(" ");
                if (w.length == 2 && w[1].matches("-?\\d+")) codes.put(w[0], Integer.parseInt(w[1]));
            }
            return codes;
        }
    }

    /** {@code setpriv SETPRIV... java NonRootClient ARGS} (without setpriv when this does not run as root). */
    static Outcome run(Path dir, List<String> setpriv, String... args) throws Exception {
        Path cp = dir.resolve("cp");
        List<String> entries = new ArrayList<>();
        if (!Files.exists(cp)) copyClassPath(cp);
        try (Stream<Path> s = Files.list(cp)) {
            s.sorted().forEach(p -> entries.add(p.toString()));
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>();
        if ("root".equals(System.getProperty("user.name"))) {
            cmd.add("setpriv");
            cmd.addAll(setpriv);
        }
        cmd.addAll(List.of(java, "-XX:-UsePerfData", "-Xshare:auto", "-Duser.home=/tmp", "-cp", String.join(File.pathSeparator, entries),
                NonRootClient.class.getName()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out;
        try {
            out = new String(p.getInputStream().readAllBytes());
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        } finally {
            p.destroyForcibly();
        }
        return new Outcome(p.exitValue(), out);
    }

    /** The client needs only the project's own classes: directories, or its jars (the KPI's, under verify). */
    private static void copyClassPath(Path cp) throws Exception {
        Files.createDirectories(cp);
        int n = 0;
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(e);
            if (Files.isRegularFile(p) && p.getFileName().toString().startsWith("kextnet-")) {
                Files.copy(p, cp.resolve(String.format("j%02d.jar", n++)), StandardCopyOption.REPLACE_EXISTING);
                continue;
            }
            if (!Files.isDirectory(p)) continue;
            Path copy = cp.resolve(String.format("d%02d", n++));
            try (Stream<Path> s = Files.walk(p)) {
                for (Path f : (Iterable<Path>) s::iterator) {
                    Path t = copy.resolve(p.relativize(f).toString());
                    if (Files.isDirectory(f)) Files.createDirectories(t); else Files.copy(f, t, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        try (Stream<Path> s = Files.walk(cp)) {
            for (Path f : (Iterable<Path>) s::iterator)
                Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(Files.isDirectory(f) ? "rwxr-xr-x" : "rw-r--r--"));
        }
    }
}
