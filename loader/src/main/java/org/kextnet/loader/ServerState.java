package org.kextnet.loader;

/**
 * A server record's state ({@code server_state_t}), with the word kl_util prints. Allocating, Loading and
 * Unloading are transient: a request that meets one waits until it ends.
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

    private final String word;

    ServerState(String word) {
        this.word = word;
    }

    /** The word kl_util prints. */
    public String word() { return word; }

    public boolean transient_() { return this == ALLOCATING || this == LOADING || this == UNLOADING; }

    /** The state for a word (as kl_util prints it), or null. */
    public static ServerState ofWord(String w) {
        for (ServerState s : values()) if (s.word.equals(w)) return s;
        return null;
    }
}
