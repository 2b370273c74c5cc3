package org.kextnet.it;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What the integration tests need: root (for namespaces and TUN/TAP) and a few Linux tools. Outside CI a
 * missing requirement skips the test with the reason; under {@code CI=true} it fails, because CI runs as
 * root with every tool installed and a skip there would hide a broken set-up.
 */
public final class Requirements {
    /** The Debian python with scapy (the pyenv python3 on PATH lacks it). */
    public static final String PYTHON = "/usr/bin/python3";

    private Requirements() {}

    public static boolean inCi() { return "true".equalsIgnoreCase(System.getenv("CI")); }

    /** Root and {@code ip}, plus each named tool (a command on PATH, or "scapy"). */
    public static void require(String... tools) {
        check(isRoot(), "needs root (network namespaces, /dev/net/tun)");
        check(Files.exists(Path.of("/dev/net/tun")), "needs /dev/net/tun");
        check(onPath("ip"), "needs ip (iproute2)");
        for (String t : tools) {
            if (t.equals("scapy")) {
                check(NetNs.run(Duration.ofSeconds(30), null, List.of(PYTHON, "-c", "import scapy.all")).ok(),
                        "needs " + PYTHON + " with scapy (python3-scapy)");
            } else {
                check(onPath(t), "needs " + t);
            }
        }
    }

    private static void check(boolean ok, String reason) {
        if (ok) return;
        if (inCi()) fail("CI=true but the integration set-up is incomplete: " + reason);
        assumeTrue(false, reason);
    }

    static boolean isRoot() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) return line.split("\\s+")[2].equals("0"); // effective uid
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    static boolean onPath(String cmd) {
        String path = System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        for (String dir : path.split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, cmd))) return true;
        }
        return false;
    }
}
