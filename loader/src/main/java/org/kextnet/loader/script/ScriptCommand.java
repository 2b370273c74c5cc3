package org.kextnet.loader.script;

/** One load or unload command of a server script, with the line it came from (for link errors). */
public sealed interface ScriptCommand {
    int line();

    /** The routine the command calls. */
    String routine();

    /** {@code MAP port routine [arg]} (also {@code SMAP}): messages on {@code port} go to the routine. */
    record Map(String port, String routine, ScriptArg arg, int line) implements ScriptCommand {}

    /**
     * {@code HMAP port routine table} (3.x's MiG handler interface): messages on {@code port} are dispatched by their
     * id through the handler table, the server class's field {@code table} (message id to handler); an id the table
     * does not hold goes to {@code routine} with the argument {@link #MIG_BAD_ID}.
     */
    record HandlerMap(String port, String routine, String table, int line) implements ScriptCommand {
        /** MiG's answer to a message id its demultiplexer does not know ({@code MIG_BAD_ID}). */
        public static final int MIG_BAD_ID = -303;
    }

    /** {@code INIT routine [arg]} or a load-time {@code CALL}; or, among unload commands, {@code FREE} / unload-time {@code CALL}. */
    record Call(String routine, ScriptArg arg, int line) implements ScriptCommand {}

    /** {@code PORT_DEATH routine}: called when a reply port the server has seen dies. */
    record PortDeath(String routine, int line) implements ScriptCommand {}
}
