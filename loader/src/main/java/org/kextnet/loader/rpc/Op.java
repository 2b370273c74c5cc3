package org.kextnet.loader.rpc;

/**
 * The RPC's operations (docs/rpc.md, "Frames"): each one's wire code, the word used in messages, the protocol
 * version that introduced it, whether it needs a privileged client, and the largest request body it may have. This table is the only place a code is
 * written; the requests themselves are {@link Request}'s records, each of which names its {@code Op}.
 */
public enum Op {
    PING(0x01, "ping", 1, false, 0),
    LIST(0x02, "list", 1, false, 0),
    INFO(0x03, "info", 1, false, Rpc.MAX_STR_FIELD),
    ADD(0x04, "add", 1, true, Rpc.MAX_STR_FIELD),
    DELETE(0x05, "delete", 1, true, Rpc.MAX_STR_FIELD),
    LOAD(0x06, "load", 1, true, Rpc.MAX_STR_FIELD),
    UNLOAD(0x07, "unload", 1, true, Rpc.MAX_STR_FIELD),
    ABORT(0x08, "abort", 1, true, 1),
    LOG(0x09, "log", 1, false, 1),
    LOOKUP(0x0B, "lookup", 1, false, Rpc.MAX_STR_FIELD),
    SEND(0x0C, "send", 1, false, 8 + 4 + 1 + 4 + Rpc.MAX_MESSAGE),
    /** Privileged only for lines that change the kernel ({@link AdminCommands#isMutating}). */
    ADMIN(0x0D, "admin", 1, false, Rpc.MAX_STR_FIELD),
    CTL_LIST(0x10, "ctl list", 2, false, 0),
    CTL_CONNECT(0x11, "ctl connect", 2, false, Rpc.MAX_STR_FIELD + 4),
    CTL_SEND(0x12, "ctl send", 2, false, 4 + 4 + 4 + Rpc.MAX_MESSAGE),
    CTL_RECV(0x13, "ctl recv", 2, false, 12),
    CTL_SETOPT(0x14, "ctl setopt", 2, false, 4 + 4 + 4 + Rpc.MAX_OPTION),
    CTL_GETOPT(0x15, "ctl getopt", 2, false, 12),
    CTL_CLOSE(0x16, "ctl close", 2, false, 4);

    private static final Op[] BY_CODE = new Op[256];

    static {
        for (Op op : values()) BY_CODE[op.code] = op;
    }

    private final int code;
    private final String word;
    private final int since;
    private final boolean privileged;
    private final int maxBody;

    Op(int code, String word, int since, boolean privileged, int maxBody) {
        this.code = code;
        this.word = word;
        this.since = since;
        this.privileged = privileged;
        this.maxBody = maxBody;
    }

    /** The request's code on the wire; its response carries {@code code | }{@link Rpc#RESPONSE}. */
    public int code() { return code; }

    /** The operation's name in messages ("unload", "ctl recv"). */
    public String word() { return word; }

    /** The protocol version that introduced it: a connection that agreed on less answers it with 121. */
    public int since() { return since; }

    /** Whether only privileged clients may make it (a refusal, 101, changes nothing). */
    public boolean privileged() { return privileged; }

    /**
     * The longest frame of this request the daemon reads (length field: op, tag and body): a longer one is refused as
     * soon as its length is read, before any of it is held.
     */
    public int maxFrame() { return 5 + maxBody; }

    /** The operation with wire code {@code code}, or null if this version has none. */
    public static Op of(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
