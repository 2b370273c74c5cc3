package org.kextnet.loader.script;

/** One load or unload command of a server script, with the line it came from (for link errors). */
public sealed interface ScriptCommand {
    int line();

    /** The routine the command calls. */
    String routine();

    /** {@code MAP port routine [arg]} (also {@code SMAP}, {@code HMAP}): messages on {@code port} go to the routine. */
    record Map(String port, String routine, ScriptArg arg, int line) implements ScriptCommand {}

    /** {@code INIT routine [arg]} or a load-time {@code CALL}; or, among unload commands, {@code FREE} / unload-time {@code CALL}. */
    record Call(String routine, ScriptArg arg, int line) implements ScriptCommand {}

    /** {@code PORT_DEATH routine}: called when a reply port the server has seen dies. */
    record PortDeath(String routine, int line) implements ScriptCommand {}
}
