package org.kextnet.loader;

import java.util.Set;

/**
 * A server record's state ({@code server_state_t}), with the word kl_util prints, and the loader's state machine:
 * {@link #successors} is the one table of the transitions a record may make. Allocating, Loading and Unloading
 * are transient: a request that meets one waits until it ends.
 */
public enum ServerState {
    ZOMBIE("Zombie"),
    ALLOCATING("Allocating"),
    /** Linked, ports created and advertised, not running. */
    ALLOCATED("Allocated"),
    LOADING("Loading"),
    /** Running: its routines receive messages. */
    LOADED("Loaded"),
    UNLOADING("Unloading"),
    /** Freed; hidden from listings and replaced by a new server of the same name. */
    DEALLOCATED("Deallocated"),
    /** Freed after a fault (INIT failed, or an unload had to be forced); shown until deleted or replaced. */
    FAULTED("Faulted"),
    /** Deleted while DETACH: no longer managed, its code stays loaded and its ports keep serving. */
    DETACHED("Detached");

    /**
     * The table, by ordinal. An array rather than an EnumMap of EnumSets: kl_util -s reads states in a fresh JVM, and an
     * EnumSet's first use there reaches {@code values()} by reflection, which costs milliseconds under {@code -Xint}.
     */
    private static final ServerState[][] SUCCESSORS = new ServerState[values().length][];

    static {
        for (ServerState s : values()) {
            SUCCESSORS[s.ordinal()] = switch (s) {
                case ALLOCATING -> new ServerState[] {ALLOCATED,     // the jar read and linked, the ports advertised
                                                      DEALLOCATED};  // allocation failed, or the server was deleted meanwhile
                case ALLOCATED -> new ServerState[] {LOADING,        // a load, asked for or on demand
                                                     DEALLOCATED};   // deleted
                case LOADING -> new ServerState[] {LOADED,           // the load sequence ran
                                                   FAULTED};         // it failed: everything it made is taken down
                case LOADED -> new ServerState[] {UNLOADING,         // an unload (also the first half of a delete)
                                                  DETACHED};         // a DETACH server deleted
                case UNLOADING -> new ServerState[] {ALLOCATED,      // a clean unload: the ports are held again
                                                     FAULTED};       // a forced one
                case FAULTED -> new ServerState[] {DEALLOCATED};     // deleted (adding the script again replaces the record)
                case ZOMBIE, DEALLOCATED, DETACHED -> new ServerState[0]; // final
            };
        }
    }

    private final String word;

    ServerState(String word) {
        this.word = word;
    }

    /** The word kl_util prints. */
    public String word() { return word; }

    public boolean transient_() { return this == ALLOCATING || this == LOADING || this == UNLOADING; }

    /** The states a record in this state may move to (unmodifiable). */
    public Set<ServerState> successors() { return Set.of(SUCCESSORS[ordinal()]); }

    /** Whether a record in this state may move to {@code next}. */
    public boolean canBecome(ServerState next) {
        for (ServerState s : SUCCESSORS[ordinal()]) if (s == next) return true;
        return false;
    }

    /** The state for a word (as kl_util prints it), or null. */
    public static ServerState ofWord(String w) {
        for (ServerState s : values()) if (s.word.equals(w)) return s;
        return null;
    }
}
