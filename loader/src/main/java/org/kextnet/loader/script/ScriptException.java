package org.kextnet.loader.script;

import java.nio.file.Path;

import org.kextnet.loader.LoaderError;
import org.kextnet.loader.LoaderException;

/** A server script (or configuration file) is wrong: names the file, the line (0 for the whole file) and the code. */
public final class ScriptException extends LoaderException {
    private final Path file;
    private final int line;

    public ScriptException(Path file, int line, LoaderError error, String problem) {
        super(error, file + (line > 0 ? ":" + line : "") + ": " + problem);
        this.file = file;
        this.line = line;
    }

    public Path file() { return file; }

    public int line() { return line; }
}
