package org.kextnet.loader.script;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.kextnet.loader.LoaderError;

/**
 * {@code kern_loader.conf}: one server script per line (the first blank-separated token; a relative path is
 * taken against the file's directory), blank lines and {@code #} comments ignored.
 */
public final class ConfFile {
    private ConfFile() {}

    /** A script named on {@code line} of the configuration file. */
    public record Entry(Path script, int line) {}

    public static List<Entry> read(Path conf) throws ScriptException {
        Path abs = conf.toAbsolutePath().normalize();
        List<String> lines;
        try {
            lines = Files.readAllLines(abs);
        } catch (IOException e) {
            throw new ScriptException(abs, 0, LoaderError.CANT_OPEN_SERVER, "cannot read configuration: " + e.getMessage());
        }
        List<Entry> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String s = lines.get(i).strip();
            if (s.isEmpty() || s.charAt(0) == '#') continue;
            String first = s.split("\\s+")[0];
            try {
                Path p = Path.of(first);
                out.add(new Entry((p.isAbsolute() ? p : abs.getParent().resolve(p)).normalize(), i + 1));
            } catch (RuntimeException e) {
                throw new ScriptException(abs, i + 1, LoaderError.BAD_RELOCATABLE, "bad path '" + first + "'");
            }
        }
        return out;
    }
}
