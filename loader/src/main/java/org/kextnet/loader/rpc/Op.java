package org.kextnet.loader.rpc;

/**
 * The RPC's operations (docs/rpc.md, "Frames"): each one's wire code, the word used in messages, the protocol
 * version that introduced it and whether it needs a privileged client. This table is the only place a code is
 * written; the requests themselves are {@link Request}'s records, each of which names its {@code Op}.
 */
public enum Op {
    PING(0x01, "ping", 1, false),
    LIST(0x02, "list", 1, false),
    INFO(0x03, "info", 1, false),
    ADD(0x04, "add", 1, true),
    DELETE(0x05, "delete", 1, true),
    LOAD(0x06, "load", 1, true),
    UNLOAD(0x07, "unload", 1, true),
    ABORT(0x08, "abort", 1, true),
    LOG(0x09, "log", 1, false),
    LOOKUP(0x0B, "lookup", 1, false),
    SEND(0x0C, "send", 1, false),
    /** Privileged only for lines that change the kernel ({@link AdminCommands#isMutating}). */
    ADMIN(0x0D, "admin", 1, false),
    CTL_LIST(0x10, "ctl list", 2, false),
    CTL_CONNECT(0x11, "ctl connect", 2, false),
    CTL_SEND(0x12, "ctl send", 2, false),
    CTL_RECV(0x13, "ctl recv", 2, false),
    CTL_SETOPT(0x14, "ctl setopt", 2, false),
    CTL_GETOPT(0x15, "ctl getopt", 2, false),
    CTL_CLOSE(0x16, "ctl close", 2, false);

    private static final Op[] BY_CODE = new Op[256];

    static {
        for (Op op : values()) BY_CODE[op.code] = op;
    }

    private final int code;
    private final String word;
    private final int since;
    private final boolean privileged;

    Op(int code, String word, int since, boolean privileged) {
        this.code = code;
        this.word = word;
        this.since = since;
        this.privileged = privileged;
    }

    /** The request's code on the wire; its response carries {@code code | }{@link Rpc#RESPONSE}. */
    public int code() { return code; }

    /** The operation's name in messages ("unload", "ctl recv"). */
    public String word() { return word; }

    /** The protocol version that introduced it: a connection that agreed on less answers it with 121. */
    public int since() { return since; }

    /** Whether only privileged clients may make it (a refusal, 101, changes nothing). */
    public boolean privileged() { return privileged; }

    /** The operation with wire code {@code code}, or null if this version has none. */
    public static Op of(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
