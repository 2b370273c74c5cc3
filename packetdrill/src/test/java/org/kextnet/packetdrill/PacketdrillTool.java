package org.kextnet.packetdrill;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * packetdrill and the shim, built by {@code build.sh} into {@code target/}, and one script's run through
 * {@code run-script.sh}. Outside CI a missing tool (gcc, bison, flex, patch, packetdrill's source) or a missing privilege
 * (root: packetdrill locks its memory) skips the tests with the reason and how to get it; under {@code CI=true}
 * they fail instead, because CI installs everything and a skip there would hide a broken set-up.
 */
final class PacketdrillTool {
    /** Real time one build may take. */
    private static final Duration BUILD_LIMIT = Duration.ofMinutes(5);

    /** A script's run: whether packetdrill passed it, and what it printed. */
    record Result(boolean passed, boolean timedOut, int exitCode, String output, String reason) {}

    final Path module;
    final Path scripts;
    /** packetdrill's source tree (build.sh's default, or $PACKETDRILL_SRC). */
    final Path source;
    /** packetdrill's own scripts as build.sh copies them to run ({@code gtests/net/...} under it). */
    final Path linuxScripts;
    private final boolean isolate;

    private PacketdrillTool(Path module, Path source, boolean isolate) {
        this.module = module;
        this.scripts = module.resolve("scripts");
        this.source = source;
        this.linuxScripts = module.resolve("target/packetdrill-tests");
        this.isolate = isolate;
    }

    /**
     * Whether scripts run in a network namespace of their own (with a placeholder tun0): packetdrill's own
     * scripts change sysctls and configure tun0 with their shell commands, which must not touch this machine.
     */
    boolean isolates() { return isolate; }

    static boolean inCi() { return "true".equalsIgnoreCase(System.getenv("CI")); }

    /** Builds packetdrill and the shim (or finds them built), or skips / fails as the class comment says. */
    static PacketdrillTool prepare() throws IOException, InterruptedException {
        Path module = Path.of("").toAbsolutePath();
        String src = System.getenv("PACKETDRILL_SRC");
        Path source = src != null && !src.isEmpty() ? Path.of(src) : module.getParent().resolveSibling("shared/tools/packetdrill").normalize();
        require(isRoot(), "packetdrill needs root (it locks its memory with mlockall): run the tests as root");
        ProcessBuilder pb = new ProcessBuilder(module.resolve("build.sh").toString()).redirectErrorStream(true);
        pb.environment().put("JAVA_HOME", Path.of(System.getProperty("java.home")).toString());
        pb.environment().put("PACKETDRILL_SRC", source.toString());
        Process p = pb.start();
        String out;
        if (!p.waitFor(BUILD_LIMIT.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("packetdrill/build.sh took more than " + BUILD_LIMIT);
        }
        out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (p.exitValue() == 3) require(false, out + "; then run the tests again");
        if (p.exitValue() != 0) fail("packetdrill/build.sh failed:\n" + out);
        return new PacketdrillTool(module, source, canIsolate());
    }

    /**
     * Whether run-script.sh's {@code --isolate} works here: {@code unshare --net} (a container may refuse it even
     * to root) and a TUN device made in the new namespace ({@code ip tuntap}, /dev/net/tun).
     */
    private static boolean canIsolate() throws IOException, InterruptedException {
        if (!onPath("unshare") || !onPath("ip")) return false;
        Process p = new ProcessBuilder("unshare", "--net", "--", "ip", "tuntap", "add", "dev", "tun0", "mode", "tun")
                .redirectErrorStream(true).start();
        boolean done = p.waitFor(30, TimeUnit.SECONDS);
        if (!done) p.destroyForcibly();
        boolean ok = done && p.exitValue() == 0;
        if (!ok) System.err.println("PacketdrillTool: unshare --net or ip tuntap does not work here: scripts run in this machine's network namespace");
        return ok;
    }

    /**
     * Runs one script with run-script.sh in its own folder (scripts name helpers relative to it), in a network
     * namespace of its own when it can ({@code --isolate}), so that a script's shell commands (sysctls, tc) touch
     * nothing of this machine's; bounded by {@code limit} of real time.
     * @param linux a script of packetdrill's own, written for Linux: the shim reads the sysctls it sets
     *              ({@code --so_flags=sysctls})
     */
    Result run(Path script, Duration limit, boolean linux, String... options) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(module.resolve("run-script.sh").toString());
        if (isolate) cmd.add("--isolate");
        if (linux) cmd.add("--so_flags=sysctls");
        cmd.addAll(List.of(options));
        cmd.add(script.getFileName().toString());
        Path log = Files.createTempFile("pd-run", ".log");
        try {
            Process p = new ProcessBuilder(cmd).directory(script.getParent().toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            boolean done = p.waitFor(limit.toSeconds(), TimeUnit.SECONDS);
            if (!done) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
            String out = Files.readString(log, StandardCharsets.UTF_8);
            if (!done) return new Result(false, true, -1, out, "timed out after " + limit.toSeconds() + " s of real time");
            int rc = p.exitValue();
            return new Result(rc == 0, false, rc, out, rc == 0 ? "" : reason(script.getFileName().toString(), out, rc));
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /** packetdrill's error ("x.pkt:12: runtime error in write call: ...") as "line 12: ...", else the last line. */
    static String reason(String file, String output, int rc) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(file) + ":(\\d+): (.*)$").matcher(output);
        if (m.find()) return "line " + m.group(1) + ": " + m.group(2).strip();
        String[] lines = output.strip().split("\n");
        String last = lines.length == 0 ? "" : lines[lines.length - 1].strip();
        return last.isEmpty() ? "exit status " + rc : last;
    }

    private static void require(boolean ok, String reason) {
        if (ok) return;
        if (inCi()) fail("CI=true but packetdrill cannot run: " + reason);
        assumeTrue(false, reason);
    }

    private static boolean isRoot() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Uid:")) return line.split("\\s+")[2].equals("0"); // effective uid
        }
        return false;
    }

    private static boolean onPath(String cmd) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, cmd))) return true;
        }
        return false;
    }
}
