package org.kextnet.packetdrill;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The table of every script in the manifest with what became of it: passed, failed (with packetdrill's reason and,
 * for a known difference, the manifest's explanation), not applicable (the Linux-only feature), or not run yet.
 * Scripts not run are grouped by folder. Written to {@code target/packetdrill/results.md}, and into
 * docs/packetdrill.md between its two markers when asked ({@code -Dpacketdrill.updateDocs=true}).
 */
final class ResultsTable {
    static final String BEGIN = "<!-- packetdrill-results:begin -->", END = "<!-- packetdrill-results:end -->";

    private record Row(Manifest.Entry entry, PacketdrillTool.Result result) {}

    private final List<Row> rows = new ArrayList<>();

    synchronized void add(Manifest.Entry e, PacketdrillTool.Result r) { rows.add(new Row(e, r)); }

    synchronized String render() {
        StringBuilder b = new StringBuilder("| script | result | why |\n|---|---|---|\n");
        Map<String, Integer> notRun = new LinkedHashMap<>();
        int passed = 0, failed = 0, known = 0;
        for (Row row : rows.stream().sorted((x, y) -> x.entry().name().compareTo(y.entry().name())).toList()) {
            Manifest.Entry e = row.entry();
            PacketdrillTool.Result r = row.result();
            switch (e.expect()) {
                case PASS, FAIL -> {
                    if (r == null) continue;
                    if (r.passed()) passed++; else if (e.expect() == Manifest.Expect.FAIL) known++; else failed++;
                    String result = r.passed() ? "passed" : e.expect() == Manifest.Expect.FAIL ? "failed (known difference)" : "failed";
                    String why = r.passed() ? "" : (e.why().isEmpty() ? "" : e.why() + "; packetdrill: ") + "`" + r.reason().replace("|", "\\|") + "`";
                    b.append("| ").append(e.name()).append(" | ").append(result).append(" | ").append(why).append(" |\n");
                }
                case NOT_APPLICABLE -> b.append("| ").append(e.name()).append(" | not applicable | Linux-only: ").append(e.why()).append(" |\n");
                case PENDING -> {
                    Path dir = Path.of(e.name()).getParent();
                    notRun.merge((dir == null ? "" : dir + "/") + "\u0000" + e.why(), 1, Integer::sum);
                }
            }
        }
        notRun.forEach((k, n) -> {
            String[] dirWhy = k.split("\u0000", 2);
            b.append("| ").append(dirWhy[0]).append(" (").append(n).append(n == 1 ? " script" : " scripts").append(") | not run | ")
                    .append(dirWhy[1]).append(" |\n");
        });
        b.append("\n").append(passed).append(" passed, ").append(known).append(" failed as expected (known differences), ")
                .append(failed).append(" failed");
        int pending = notRun.values().stream().mapToInt(Integer::intValue).sum();
        if (pending > 0) b.append(", ").append(pending).append(" not run");
        return b.append(".\n").toString();
    }

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
