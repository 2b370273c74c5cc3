package org.kextnet.examples.capture;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Reads a capture file with Wireshark's tshark, the reader the files are written for. Without tshark the test is
 * skipped with the reason, except under {@code CI=true}, where a skip would hide a broken set-up: it fails.
 */
final class Tshark {
    private Tshark() {}

    static void require() {
        boolean found = false;
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "tshark"))) found = true;
        }
        if (found) return;
        if ("true".equalsIgnoreCase(System.getenv("CI"))) fail("CI=true but tshark is not installed");
        assumeTrue(false, "needs tshark (Wireshark's reader)");
    }

    /** {@code tshark -r file -T fields -e F ...}: one list of values per packet; fails if tshark does not read the file cleanly. */
    static List<List<String>> fields(Path file, String... fields) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("tshark", "-n", "-r", file.toString(), "-T", "fields", "-E", "separator=|", "-E", "occurrence=f"));
        for (String f : fields) {
            cmd.add("-e");
            cmd.add(f);
        }
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.PIPE).start();
        byte[] out = p.getInputStream().readAllBytes();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("tshark did not finish reading " + file);
        }
        // tshark warns about running as root; anything else on stderr is a problem with the file.
        String problems = err.lines().filter(l -> !l.startsWith("Running as user")).reduce("", (a, b) -> a + b + "\n");
        if (p.exitValue() != 0 || !problems.isEmpty()) fail("tshark -r " + file + " exited " + p.exitValue() + ": " + problems);
        List<List<String>> rows = new ArrayList<>();
        for (String line : new String(out, StandardCharsets.UTF_8).split("\n")) {
            if (!line.isEmpty()) rows.add(List.of(line.split("\\|", -1)));
        }
        return rows;
    }
}
