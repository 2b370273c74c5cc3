package org.kextnet.cli;

import java.nio.file.Path;

/** Where kern_loader's socket is when no {@code --socket} is given. */
final class LoaderSocket {
    private LoaderSocket() {}

    /** {@code $KEXTNET_SOCKET}, else /run/kextnet/kern_loader.sock for root, else a per-user directory under /tmp. */
    static Path defaultPath() {
        String env = System.getenv("KEXTNET_SOCKET");
        if (env != null && !env.isBlank()) return Path.of(env);
        String user = System.getProperty("user.name");
        if ("root".equals(user)) return Path.of("/run/kextnet/kern_loader.sock");
        return Path.of(System.getProperty("java.io.tmpdir"), "kextnet-" + user, "kern_loader.sock");
    }

    static Path orDefault(Path p) {
        return p != null ? p : defaultPath();
    }
}
