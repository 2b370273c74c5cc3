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
 */
public record ServerScript(Path file, String name, Path reloc, List<PortDecl> ports,
                           List<ScriptCommand> load, List<ScriptCommand.Call> unload,
                           boolean start, boolean wire, boolean detach) {
    public ServerScript {
        ports = List.copyOf(ports);
        load = List.copyOf(load);
        unload = List.copyOf(unload);
    }

    /** A port the script declares; {@code advertised} if it is checked in with the name server. */
    public record PortDecl(String name, boolean advertised, int line) {}
}
