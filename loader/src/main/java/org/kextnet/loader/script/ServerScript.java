package org.kextnet.loader.script;

import java.nio.file.Path;
import java.util.List;

/**
 * A parsed server script: one server's name, its jar, its ports and its load and unload commands, in file
 * order. Immutable.
 *
 * @param file     the script itself (absolute)
 * @param name     {@code SERVER_NAME}
 * @param reloc    {@code RELOC}, resolved against the script's directory
 * @param ports    every port the script declares, in order
 * @param load     load commands in file order ({@code MAP}, {@code INIT}/{@code CALL}, {@code PORT_DEATH})
 * @param unload   unload commands in file order ({@code FREE}, unload-time {@code CALL})
 * @param start    {@code START}: load as soon as allocated
 * @param wire     {@code WIRE}: load and initialise every class of the jar at load
 * @param detach   {@code DETACH}: may never be unloaded
 * @param loadable {@code LOADABLE}: where kern_loader writes the image it linked (resolved against the script's
 *                 directory), or null
 * @param skipped  lines that are not commands because they do not start with a capital letter (NeXTSTEP's rule),
 *                 comments and blank lines excepted, for kern_loader to warn about
 */
public record ServerScript(Path file, String name, Path reloc, List<PortDecl> ports,
                           List<ScriptCommand> load, List<ScriptCommand.Call> unload,
                           boolean start, boolean wire, boolean detach, Path loadable, List<Skipped> skipped) {
    public ServerScript {
        ports = List.copyOf(ports);
        load = List.copyOf(load);
        unload = List.copyOf(unload);
        skipped = List.copyOf(skipped);
    }

    /** A script without LOADABLE and without skipped lines. */
    public ServerScript(Path file, String name, Path reloc, List<PortDecl> ports, List<ScriptCommand> load,
                        List<ScriptCommand.Call> unload, boolean start, boolean wire, boolean detach) {
        this(file, name, reloc, ports, load, unload, start, wire, detach, null, List.of());
    }

    /** A line the parser skipped: its number and its text (control characters escaped, at most 64 characters). */
    public record Skipped(int line, String text) {}

    /** A port the script declares; {@code advertised} if it is checked in with the name server. */
    public record PortDecl(String name, boolean advertised, int line) {}
}
