package org.kextnet.loader;

import java.io.IOException;
import java.nio.file.Path;

/** Lets the benchmark (another package) build the example echo server's jar and script. */
public final class TestJarsAccess {
    private TestJarsAccess() {}

    public static Path echo(Path dir) throws IOException {
        return Servers.echo(dir, "echo");
    }
}
