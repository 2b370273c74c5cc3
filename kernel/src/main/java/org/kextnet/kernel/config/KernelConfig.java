package org.kextnet.kernel.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.kextnet.kernel.Kernel;

/**
 * Reads a kernel configuration file (docs/configuration.md): one {@link KernelCommands} line per line,
 * {@code #} comments and blank lines ignored. The file is applied line by line; the first line that fails
 * stops it with a {@link ConfigException} naming file, line and problem, and the caller closes the kernel
 * so that it never runs half-configured.
 */
public final class KernelConfig {
    private KernelConfig() {}

    /** Applies {@code file} to {@code kernel}. */
    public static void apply(Kernel kernel, KernelCommands commands, Path file) throws ConfigException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new ConfigException(file.toString(), 0, "cannot read: " + e.getMessage());
        }
        apply(commands, file.toString(), lines);
    }

    /** Applies configuration lines; {@code source} names them in errors. */
    public static void apply(KernelCommands commands, String source, List<String> lines) throws ConfigException {
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (KernelCommands.words(line).length == 0) continue;
            try {
                commands.execute(line);
            } catch (RuntimeException e) {
                throw new ConfigException(source, i + 1, e.getMessage() != null ? e.getMessage() : e.toString());
            }
        }
    }
}
