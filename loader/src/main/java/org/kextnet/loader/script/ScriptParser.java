package org.kextnet.loader.script;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Pattern;

import org.kextnet.loader.LoaderError;

/**
 * Parses server scripts ({@code *.kern_server}): the NeXTSTEP 1.0 keywords and the 3.x ones where they map.
 * The format is in docs/kern_loader.md. Line oriented, as 3.x's parser: a line is a command only if it starts
 * with a capital letter A-Z; every other line (blank, a {@code #} comment, indented, lower case) is skipped, and
 * the skipped lines that are not blank or comments are listed in {@link ServerScript#skipped()} for kern_loader to
 * warn about. After a command, {@code #} starts a comment; tokens are separated by blanks. A whole-line comment
 * {@code # unload script:} (3.x's listing of the load and unload command files one after the other) begins the
 * unload commands, as {@code UNLOAD_COMMANDS} does. The first error stops the parse with a {@link ScriptException}
 * naming file, line and code:
 * <ul>
 * <li>111 BAD_RELOCATABLE: unknown keyword, wrong number of arguments, bad name or number, a second
 *   {@code SERVER_NAME}/{@code RELOC}/{@code PORT_DEATH}/{@code LOADABLE}, an advertised port without {@code MAP},
 *   no {@code MAP} and no {@code START}, no {@code RELOC}, a command other than {@code CALL}/{@code FREE} among the
 *   unload commands, a load-time {@code CALL} after a comment that reads as the start of the unload commands but is
 *   not the marker (it would run at the wrong time);</li>
 * <li>107 PORT_EXISTS: a port declared or mapped twice;</li>
 * <li>105 NEED_SERVER_NAME: no {@code SERVER_NAME};</li>
 * <li>110 CANT_OPEN_SERVER: the script or the {@code RELOC} jar cannot be read.</li>
 * </ul>
 * Routines are checked against the jar later, when the server is linked (108 SERVER_WONT_LINK).
 */
public final class ScriptParser {
    /** Longest script accepted; a server script is a few lines. */
    public static final int MAX_BYTES = 1 << 20;

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.\\-]{0,63}");
    private static final Pattern IDENT = Pattern.compile("[A-Za-z_$][A-Za-z0-9_$]{0,254}");
    /** 3.x's separator between the load and the unload commands, as its listings print it: {@code # unload script:}. */
    private static final Pattern UNLOAD_MARKER = Pattern.compile("#\\s*unload(\\s+(script|scripts|commands?|sequence))?\\s*:?\\s*",
            Pattern.CASE_INSENSITIVE);
    /** A comment that begins with the word "unload": the marker, or something a reader could take for it. */
    private static final Pattern UNLOAD_WORD = Pattern.compile("#\\s*unload\\b.*", Pattern.CASE_INSENSITIVE | Pattern.DOTALL);

    private ScriptParser() {}

    /** Reads and parses {@code file}; its {@code RELOC} must name a readable file. */
    public static ServerScript parse(Path file) throws ScriptException {
        Path abs = file.toAbsolutePath().normalize();
        byte[] bytes;
        try {
            if (Files.size(abs) > MAX_BYTES) throw new ScriptException(abs, 0, LoaderError.BAD_RELOCATABLE, "script larger than " + MAX_BYTES + " bytes");
            bytes = Files.readAllBytes(abs);
        } catch (IOException e) {
            throw new ScriptException(abs, 0, LoaderError.CANT_OPEN_SERVER, "cannot read script: " + e.getMessage());
        }
        return parse(abs, new String(bytes, StandardCharsets.UTF_8), p -> Files.isRegularFile(p) && Files.isReadable(p));
    }

    /**
     * Parses script text; {@code file} names it in errors and anchors a relative {@code RELOC}; {@code relocExists}
     * decides whether the jar is there (110 if not).
     */
    public static ServerScript parse(Path file, String text, Predicate<Path> relocExists) throws ScriptException {
        return new Parse(file, relocExists).run(text);
    }

    /** One parse: the state accumulated line by line. */
    private static final class Parse {
        private final Path file;
        private final Predicate<Path> relocExists;
        private String name;
        private Path reloc, loadable;
        private int relocLine;
        private final Map<String, PortState> ports = new LinkedHashMap<>();
        private final List<ScriptCommand> load = new ArrayList<>();
        private final List<ScriptCommand.Call> unload = new ArrayList<>();
        private final List<ServerScript.Skipped> skipped = new ArrayList<>();
        private boolean start, wire, detach, portDeath, unloadSection;
        private int lineNo;
        /** The line that began the unload commands, and how it read (for errors). */
        private int unloadSince;
        private String unloadBy;
        /** A comment in the load commands that begins with "unload" without being the marker (0 if none). */
        private int unloadLookalike;
        private String lookalikeText;

        Parse(Path file, Predicate<Path> relocExists) {
            this.file = file;
            this.relocExists = relocExists;
        }

        ServerScript run(String text) throws ScriptException {
            String[] lines = text.split("\r?\n|\r", -1);
            for (int i = 0; i < lines.length; i++) {
                lineNo = i + 1;
                line(lines[i]);
            }
            lineNo = 0;
            if (name == null) throw error(LoaderError.NEED_SERVER_NAME, "no SERVER_NAME");
            if (reloc == null) throw error(LoaderError.BAD_RELOCATABLE, "no RELOC (the server's jar)");
            List<ServerScript.PortDecl> decls = new ArrayList<>();
            boolean mapped = false;
            for (Map.Entry<String, PortState> e : ports.entrySet()) {
                PortState p = e.getValue();
                if (!p.mapped) {
                    lineNo = p.line;
                    throw error(LoaderError.BAD_RELOCATABLE, "port '" + e.getKey() + "' has no MAP");
                }
                mapped = true;
                decls.add(new ServerScript.PortDecl(e.getKey(), p.advertised, p.line));
            }
            if (!mapped && !start) throw error(LoaderError.BAD_RELOCATABLE, "needs at least one MAP or START");
            if (!relocExists.test(reloc)) {
                lineNo = relocLine;
                throw error(LoaderError.CANT_OPEN_SERVER, "RELOC " + reloc + ": no such readable file");
            }
            return new ServerScript(file, name, reloc, decls, load, unload, start, wire, detach, loadable, skipped);
        }

        private void line(String raw) throws ScriptException {
            if (raw.isEmpty()) return;
            char first = raw.charAt(0);
            if (first < 'A' || first > 'Z') { // not a command (3.x's parser: only a capital letter starts one)
                String s = raw.strip();
                if (s.startsWith("#")) comment(s);
                else if (!s.isEmpty()) skipped.add(new ServerScript.Skipped(lineNo, printable(s)));
                return;
            }
            int hash = raw.indexOf('#');
            String s = (hash >= 0 ? raw.substring(0, hash) : raw).strip();
            String[] w = s.split("[ \t\f\u000b]+");
            String kw = w[0];
            if (unloadSection && !kw.equals("CALL") && !kw.equals("FREE") && !kw.equals("UNLOAD_COMMANDS") && !kw.equals("LOAD_COMMANDS"))
                throw error(LoaderError.BAD_RELOCATABLE, kw + " is not allowed among unload commands (only CALL and FREE); they begin at line "
                        + unloadSince + " (" + unloadBy + "); put LOAD_COMMANDS before load commands that follow them");
            switch (kw) {
                case "SERVER_NAME" -> {
                    args(w, 1, 1);
                    if (name != null) throw error(LoaderError.BAD_RELOCATABLE, "second SERVER_NAME");
                    name = name(w[1], "server name");
                }
                case "RELOC" -> {
                    args(w, 1, 1);
                    if (reloc != null) throw error(LoaderError.BAD_RELOCATABLE, "second RELOC");
                    reloc = path(w[1], "RELOC");
                    relocLine = lineNo;
                }
                case "ADVERTIZED_PORT", "ADVERTISE" -> {
                    args(w, 1, 1);
                    String port = name(w[1], "port name");
                    PortState p = ports.get(port);
                    if (p == null) ports.put(port, new PortState(lineNo, true, false));
                    else if (p.advertised) throw error(LoaderError.PORT_EXISTS, "port '" + port + "' already advertised (line " + p.line + ")");
                    else p.advertised = true;
                }
                case "HMAP" -> {
                    args(w, 3, 3);
                    String port = name(w[1], "port name");
                    String routine = routine(w[2]);
                    if (!IDENT.matcher(w[3]).matches())
                        throw error(LoaderError.BAD_RELOCATABLE, "HMAP's third argument names the handler table (a field of the server class), not '"
                                + printable(w[3]) + "'");
                    mapPort(port);
                    load.add(new ScriptCommand.HandlerMap(port, routine, w[3], lineNo));
                }
                case "MAP", "SMAP" -> {
                    args(w, 2, 3);
                    String port = name(w[1], "port name");
                    String routine = routine(w[2]);
                    ScriptArg arg = w.length > 3 ? arg(w[3]) : ScriptArg.ZERO;
                    mapPort(port);
                    load.add(new ScriptCommand.Map(port, routine, arg, lineNo));
                }
                case "INIT" -> {
                    args(w, 1, 2);
                    load.add(call(w));
                }
                case "CALL" -> {
                    args(w, 1, 2);
                    if (!unloadSection && unloadLookalike > 0)
                        throw error(LoaderError.BAD_RELOCATABLE, "CALL " + w[1] + " would run at load time, but follows the comment on line "
                                + unloadLookalike + " ('" + lookalikeText + "'), which is not the unload marker: begin the unload commands with "
                                + "UNLOAD_COMMANDS or '# unload script:', or put LOAD_COMMANDS before a CALL meant for load time");
                    if (unloadSection) unload.add(call(w)); else load.add(call(w));
                }
                case "FREE" -> {
                    args(w, 1, 2);
                    unload.add(call(w));
                }
                case "PORT_DEATH" -> {
                    args(w, 1, 1);
                    if (portDeath) throw error(LoaderError.BAD_RELOCATABLE, "second PORT_DEATH");
                    portDeath = true;
                    load.add(new ScriptCommand.PortDeath(routine(w[1]), lineNo));
                }
                case "START" -> { args(w, 0, 0); start = true; }
                case "WIRE" -> { args(w, 0, 0); wire = true; }
                case "DETACH" -> { args(w, 0, 0); detach = true; }
                case "LOADABLE" -> {
                    args(w, 1, 1);
                    if (loadable != null) throw error(LoaderError.BAD_RELOCATABLE, "second LOADABLE");
                    loadable = path(w[1], "LOADABLE");
                }
                case "LOAD_COMMANDS" -> { args(w, 0, 0); unloadSection = false; unloadLookalike = 0; }
                case "UNLOAD_COMMANDS" -> { args(w, 0, 0); beginUnload("UNLOAD_COMMANDS"); }
                default -> throw error(LoaderError.BAD_RELOCATABLE, "unknown keyword '" + printable(kw) + "'");
            }
        }

        /** A whole-line comment: 3.x's unload marker begins the unload commands; a look-alike is remembered. */
        private void comment(String s) {
            if (UNLOAD_MARKER.matcher(s).matches()) {
                beginUnload("'" + printable(s) + "'");
            } else if (!unloadSection && unloadLookalike == 0 && UNLOAD_WORD.matcher(s).matches()) {
                unloadLookalike = lineNo;
                lookalikeText = printable(s);
            }
        }

        private void beginUnload(String by) {
            if (!unloadSection) {
                unloadSection = true;
                unloadSince = lineNo;
                unloadBy = by;
            }
        }

        /** A port a MAP, SMAP or HMAP line maps (declaring it if needed). */
        private void mapPort(String port) throws ScriptException {
            PortState p = ports.get(port);
            if (p == null) ports.put(port, new PortState(lineNo, false, true));
            else if (p.mapped) throw error(LoaderError.PORT_EXISTS, "port '" + port + "' already mapped");
            else p.mapped = true;
        }

        /** A file named by the script, relative to the script's directory. */
        private Path path(String s, String what) throws ScriptException {
            Path dir = file.toAbsolutePath().getParent();
            try {
                Path p = Path.of(s);
                return (p.isAbsolute() || dir == null ? p : dir.resolve(p)).normalize();
            } catch (RuntimeException e) {
                throw error(LoaderError.BAD_RELOCATABLE, "bad " + what + " path '" + printable(s) + "'");
            }
        }

        private ScriptCommand.Call call(String[] w) throws ScriptException {
            return new ScriptCommand.Call(routine(w[1]), w.length > 2 ? arg(w[2]) : ScriptArg.ZERO, lineNo);
        }

        private void args(String[] w, int min, int max) throws ScriptException {
            int n = w.length - 1;
            if (n < min || n > max) {
                String want = min == max ? Integer.toString(min) : min + " to " + max;
                throw error(LoaderError.BAD_RELOCATABLE, w[0] + " takes " + want + " argument" + (max == 1 ? "" : "s") + ", got " + n);
            }
        }

        private String name(String s, String what) throws ScriptException {
            if (!NAME.matcher(s).matches()) throw error(LoaderError.BAD_RELOCATABLE, "bad " + what + " '" + printable(s) + "' (letters, digits, _ . -; at most 64)");
            return s;
        }

        private String routine(String s) throws ScriptException {
            if (!IDENT.matcher(s).matches()) throw error(LoaderError.BAD_RELOCATABLE, "bad routine name '" + printable(s) + "'");
            return s;
        }

        private ScriptArg arg(String s) throws ScriptException {
            char c = s.charAt(0);
            if (c >= '0' && c <= '9' || c == '-' || c == '+') {
                Long v = number(s);
                if (v == null || v < Integer.MIN_VALUE || v > 0xFFFF_FFFFL) throw error(LoaderError.BAD_RELOCATABLE, "bad number '" + printable(s) + "'");
                return new ScriptArg((int) (long) v, null);
            }
            if (!IDENT.matcher(s).matches()) throw error(LoaderError.BAD_RELOCATABLE, "bad argument '" + printable(s) + "' (a number or a symbol)");
            return new ScriptArg(0, s);
        }

        private ScriptException error(LoaderError e, String problem) {
            return new ScriptException(file, lineNo, e, problem);
        }
    }

    /** Decimal, 0x hex or 0 octal, optionally signed, as C's {@code strtol(s, 0)}; null if malformed. */
    static Long number(String s) {
        boolean neg = false;
        int i = 0;
        if (s.charAt(0) == '-' || s.charAt(0) == '+') { neg = s.charAt(0) == '-'; i = 1; }
        String d = s.substring(i);
        int radix = 10;
        if (d.length() > 2 && (d.startsWith("0x") || d.startsWith("0X"))) { radix = 16; d = d.substring(2); }
        else if (d.length() > 1 && d.charAt(0) == '0') { radix = 8; d = d.substring(1); }
        if (d.isEmpty() || d.length() > 20 || d.charAt(0) == '-' || d.charAt(0) == '+') return null;
        try {
            long v = Long.parseLong(d, radix);
            return neg ? -v : v;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && i < 64; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f) b.append(String.format("\\x%02x", (int) c)); else b.append(c);
        }
        if (s.length() > 64) b.append("...");
        return b.toString();
    }

    private static final class PortState {
        final int line;
        boolean advertised, mapped;

        PortState(int line, boolean advertised, boolean mapped) {
            this.line = line;
            this.advertised = advertised;
            this.mapped = mapped;
        }
    }
}
