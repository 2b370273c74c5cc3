package org.kextnet.packetdrill;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@code scripts/manifest.txt}: which packetdrill scripts run on kextnet and what each must do. The format is
 * described at the top of the file. A bad line is reported with the file, its line number and what is wrong.
 */
final class Manifest {
    enum Expect {
        PASS, FAIL, NOT_APPLICABLE, PENDING;

        boolean runs() { return this == PASS || this == FAIL; }
    }

    /**
     * One script: where it is, how the table names it, what it must do and why, and whether it is one of
     * packetdrill's own (written for Linux) rather than kextnet's.
     */
    record Entry(Path script, String name, Expect expect, String why, boolean external) {}

    private Manifest() {}

    /**
     * Reads {@code manifest}; paths are relative to its folder, or with {@code @} to {@code packetdrillSource}.
     * @param packetdrillSource the packetdrill source tree, or null when it is missing (its lines are then left out)
     * @return the entries in path order
     * @throws IllegalArgumentException naming the file and line of a bad line, or of a pattern that matches nothing
     */
    static List<Entry> read(Path manifest, Path packetdrillSource) throws IOException {
        Path local = manifest.toAbsolutePath().getParent();
        Map<Path, Entry> entries = new LinkedHashMap<>();
        List<String> lines = Files.readAllLines(manifest);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            String where = manifest.getFileName() + ":" + (i + 1) + ": ";
            String[] w = line.split("\\s+", 3);
            if (w.length < 2) throw new IllegalArgumentException(where + "expected SCRIPT EXPECTATION [WHY], got '" + line + "'");
            Expect expect = switch (w[1].toLowerCase(Locale.ROOT)) {
                case "pass" -> Expect.PASS;
                case "fail" -> Expect.FAIL;
                case "n/a" -> Expect.NOT_APPLICABLE;
                case "pending" -> Expect.PENDING;
                default -> throw new IllegalArgumentException(where + "unknown expectation '" + w[1] + "' (pass, fail, n/a, pending)");
            };
            String why = w.length > 2 ? w[2] : "";
            if (expect != Expect.PASS && why.isEmpty()) throw new IllegalArgumentException(where + "'" + w[1] + "' needs a reason");
            boolean external = w[0].startsWith("@");
            if (external && packetdrillSource == null) continue;
            Path base = external ? packetdrillSource : local;
            String pattern = external ? w[0].substring(1) : w[0];
            List<Path> matched = glob(base, pattern);
            if (matched.isEmpty()) throw new IllegalArgumentException(where + "'" + w[0] + "' matches no script under " + base);
            for (Path p : matched) {
                String name = base.relativize(p).toString();
                entries.put(p, new Entry(p, name, expect, why, external));
            }
        }
        List<Entry> out = new ArrayList<>(entries.values());
        out.sort(Comparator.comparing(Entry::name));
        return out;
    }

    private static List<Path> glob(Path base, String pattern) {
        if (!pattern.contains("*")) {
            Path p = base.resolve(pattern).normalize();
            return Files.isRegularFile(p) ? List.of(p) : List.of();
        }
        PathMatcher m = FileSystems.getDefault().getPathMatcher("glob:" + pattern);
        try (Stream<Path> files = Files.walk(base)) {
            return files.filter(Files::isRegularFile).filter(p -> m.matches(base.relativize(p))).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
