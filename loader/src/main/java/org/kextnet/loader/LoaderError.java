package org.kextnet.loader;

/**
 * kern_loader's error codes ({@code kern_loader_types.h}, 101–115) and the RPC's own codes (120–127), with
 * the strings {@code kern_loader_error_string} prints. Codes travel unchanged over the RPC and become
 * kl_util's exit status.
 */
public enum LoaderError {
    NO_PERMISSION(101, "permission denied"),
    UNKNOWN_SERVER(102, "unknown server"),
    SERVER_LOADED(103, "server already loaded"),
    SERVER_UNLOADED(104, "server not loaded"),
    NEED_SERVER_NAME(105, "server needs a name"),
    SERVER_EXISTS(106, "server already exists"),
    PORT_EXISTS(107, "port already exists"),
    SERVER_WONT_LINK(108, "server won't link"),
    SERVER_WONT_LOAD(109, "server won't load"),
    CANT_OPEN_SERVER(110, "can't open server"),
    BAD_RELOCATABLE(111, "bad relocatable"),
    MEM_ALLOC_PROBLEM(112, "memory allocation problem"),
    SERVER_DELETED(113, "server deleted"),
    WONT_UNLOAD(114, "server won't unload"),
    DETACHED(115, "server detached"),
    /** RPC: the peer speaks a protocol version this end does not. */
    RPC_VERSION(120, "unsupported protocol version"),
    /** RPC: an operation this kern_loader does not know (an older daemon). */
    RPC_UNKNOWN_OP(121, "unknown operation"),
    /** RPC: a frame that does not decode. */
    RPC_MALFORMED(122, "malformed request"),
    /** No port of that name or handle (never advertised, or its server was deleted). */
    UNKNOWN_PORT(123, "unknown port"),
    /** An admin command for the kernel failed; the message says why. */
    ADMIN_FAILED(124, "kernel command failed"),
    /** The server's routine threw: the fault was contained and no server reply will come. */
    SERVER_FAULT(126, "server routine failed"),
    /** The daemon is shutting down. */
    SHUTTING_DOWN(125, "kern_loader is shutting down"),
    /** A loader-internal failure (a bug): the message has the exception. */
    INTERNAL(127, "internal error"),
    /** RPC: the daemon is at a limit (connections, log listeners); the message says which. */
    RPC_BUSY(128, "kern_loader is busy"),
    /** RPC: the client took longer than the daemon waits (greeting, frame, reading, idle); the message says which. */
    RPC_TIMEOUT(129, "connection timed out");

    private final int code;
    private final String text;

    LoaderError(int code, String text) {
        this.code = code;
        this.text = text;
    }

    public int code() { return code; }

    /** The error string ({@code kern_loader_error_string}). */
    public String text() { return text; }

    /** The error for a code, or null for 0 and unknown codes. */
    public static LoaderError of(int code) {
        for (LoaderError e : values()) if (e.code == code) return e;
        return null;
    }

    /** "kern_loader error 102 (unknown server)", also for codes this version does not know. */
    public static String describe(int code) {
        LoaderError e = of(code);
        return "kern_loader error " + code + " (" + (e == null ? "unknown code" : e.text) + ")";
    }
}
