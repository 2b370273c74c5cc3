package org.kextnet.packetdrill;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The table of every script in the manifest with what became of it: passed, failed (with packetdrill's reason and,
 * for a known difference, the manifest's explanation), not applicable (the Linux-only feature), or not run. A whole
 * folder that is not applicable or not run for one reason is one row. Written to
 * {@code target/packetdrill/results.md}, and into docs/packetdrill.md between its two markers when asked
 * ({@code -Dpacketdrill.updateDocs=true}).
 */
final class ResultsTable {
    static final String BEGIN = "<!-- packetdrill-results:begin -->", END = "<!-- packetdrill-results:end -->";

    private record Row(Manifest.Entry entry, PacketdrillTool.Result result) {}

    private final List<Row> rows = new ArrayList<>();

    synchronized void add(Manifest.Entry e, PacketdrillTool.Result r) { rows.add(new Row(e, r)); }

    synchronized String render() {
        List<Row> sorted = rows.stream().sorted((x, y) -> x.entry().name().compareTo(y.entry().name())).toList();
        Map<String, Integer> perFolder = new HashMap<>();
        Map<String, Integer> perFolderAndWhy = new HashMap<>();
        for (Row row : sorted) {
            perFolder.merge(folder(row.entry()), 1, Integer::sum);
            if (row.result() == null) perFolderAndWhy.merge(groupKey(row.entry()), 1, Integer::sum);
        }
        StringBuilder b = new StringBuilder("| script | result | why |\n|---|---|---|\n");
        Map<String, Boolean> grouped = new LinkedHashMap<>();
        Totals linux = new Totals(), kextnet = new Totals();
        for (Row row : sorted) {
            Manifest.Entry e = row.entry();
            PacketdrillTool.Result r = row.result();
            Totals t = e.external() ? linux : kextnet;
            if (r != null) {
                if (r.passed()) t.passed++; else if (e.expect() == Manifest.Expect.FAIL) t.known++; else t.failed++;
                String result = r.passed() ? "passed" : e.expect() == Manifest.Expect.FAIL ? "failed (known difference)" : "failed";
                String why = r.passed() ? "" : (e.why().isEmpty() ? "" : e.why() + "; packetdrill: ") + "`" + r.reason().replace("|", "\\|") + "`";
                b.append("| ").append(e.name()).append(" | ").append(result).append(" | ").append(why).append(" |\n");
                continue;
            }
            if (e.expect() == Manifest.Expect.NOT_APPLICABLE) t.notApplicable++; else t.notRun++;
            String result = switch (e.expect()) {
                case NOT_APPLICABLE -> "not applicable";
                case FAIL -> "known difference, not run";
                default -> "not run";
            };
            String why = (e.expect() == Manifest.Expect.NOT_APPLICABLE ? "Linux-only: " : "") + e.why().replace("|", "\\|");
            String key = groupKey(e);
            int n = perFolderAndWhy.get(key);
            if (n > 1 && n == perFolder.get(folder(e))) { // the whole folder, one reason: one row
                if (grouped.putIfAbsent(key, true) != null) continue;
                b.append("| ").append(folder(e)).append(" (").append(n).append(" scripts) | ").append(result).append(" | ")
                        .append(why).append(" |\n");
            } else {
                b.append("| ").append(e.name()).append(" | ").append(result).append(" | ").append(why).append(" |\n");
            }
        }
        b.append('\n');
        if (linux.total() > 0) b.append("packetdrill's own scripts ").append(linux).append('\n');
        if (kextnet.total() > 0) b.append(linux.total() > 0 ? "\n" : "").append("kextnet's scripts ").append(kextnet).append('\n');
        return b.toString();
    }

    /** What became of one group of scripts. */
    private static final class Totals {
        int passed, known, failed, notApplicable, notRun;

        int total() { return passed + known + failed + notApplicable + notRun; }

        @Override public String toString() {
            String s = "(" + total() + "): " + passed + " passed, " + known + " failed as expected (known differences), " + failed
                    + " failed, " + notApplicable + " not applicable";
            return s + (notRun > 0 ? ", " + notRun + " not run." : ".");
        }
    }

    private static String folder(Manifest.Entry e) {
        Path dir = Path.of(e.name()).getParent();
        return dir == null ? "" : dir + "/";
    }

    private static String groupKey(Manifest.Entry e) { return folder(e) + "\u0000" + e.expect() + "\u0000" + e.why(); }

    void write(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, render());
    }

    /** Replaces what stands between the markers of {@code doc} with the table. */
    void writeInto(Path doc) throws IOException {
        String text = Files.readString(doc);
        int from = text.indexOf(BEGIN), to = text.indexOf(END);
        if (from < 0 || to < from) throw new IllegalStateException(doc + " lacks the markers " + BEGIN + " and " + END);
        Files.writeString(doc, text.substring(0, from + BEGIN.length()) + "\n" + render() + text.substring(to));
    }
}
