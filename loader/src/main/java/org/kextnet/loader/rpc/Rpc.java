package org.kextnet.loader.rpc;

/**
 * Constants of the kern_loader RPC (docs/rpc.md): the greeting, the frame layout, operation and event codes.
 *
 * <pre>
 * greeting, client:  "KLDR" u16 version u16 0
 * greeting, server:  "KLDR" u16 version u16 flags u64 replyPort str user
 * frame:             u32 length (of what follows, 5..MAX_FRAME) u8 op u32 tag body
 * response:          op | 0x80, the request's tag, body = u16 status, then str message (status != 0)
 *                    or the operation's result (status 0)
 * </pre>
 * Integers are big-endian; {@code str} is u16 length + UTF-8; {@code bytes} is u32 length + bytes.
 */
public final class Rpc {
    private Rpc() {}

    public static final int MAGIC = 0x4B4C4452; // "KLDR"
    /**
     * The protocol version this code speaks (and the highest it accepts). 2 added the kernel-control
     * operations ({@link #CTL_LIST} .. {@link #CTL_CLOSE}).
     */
    public static final int VERSION = 2;
    public static final int MIN_VERSION = 1;
    public static final int MAX_FRAME = 16 << 20;
    public static final int MAX_STRING = 65535;

    /** Greeting flags from the server. */
    public static final int HELLO_PRIVILEGED = 1, HELLO_VERSION_REFUSED = 2;

    public static final int PING = 0x01, LIST = 0x02, INFO = 0x03, ADD = 0x04, DELETE = 0x05, LOAD = 0x06,
            UNLOAD = 0x07, ABORT = 0x08, LOG = 0x09, LOOKUP = 0x0B, SEND = 0x0C, ADMIN = 0x0D;
    /** Version 2: kernel controls, as a client process sees them ({@code PF_SYSTEM}/{@code SYSPROTO_CONTROL} sockets). */
    public static final int CTL_LIST = 0x10, CTL_CONNECT = 0x11, CTL_SEND = 0x12, CTL_RECV = 0x13, CTL_SETOPT = 0x14,
            CTL_GETOPT = 0x15, CTL_CLOSE = 0x16;
    /** Most control connections one RPC client may hold. */
    public static final int MAX_CONTROLS = 64;
    /** Largest CTL_RECV and CTL_GETOPT buffer, and longest CTL_RECV wait. */
    public static final int MAX_CTL_BUFFER = 1 << 20, MAX_CTL_WAIT_MILLIS = 600_000;

    /** The protocol version that introduced {@code op}: a connection that agreed on less answers it with 121. */
    public static int since(int op) {
        return op >= CTL_LIST && op <= CTL_CLOSE ? 2 : 1;
    }
    /** A response's op is the request's op with this bit set. */
    public static final int RESPONSE = 0x80;
    /** Events (tag 0): a log line; an unsolicited message to the client's reply port. */
    public static final int EVENT_LOG = 0xF0, EVENT_PORT_MSG = 0xF1;

    /** SEND flag: the sender wants the server's reply. */
    public static final int SEND_WANTS_REPLY = 1;

    /** The name of a request op, for messages. */
    public static String opName(int op) {
        return switch (op) {
            case PING -> "ping"; case LIST -> "list"; case INFO -> "info"; case ADD -> "add"; case DELETE -> "delete";
            case LOAD -> "load"; case UNLOAD -> "unload"; case ABORT -> "abort"; case LOG -> "log";
            case LOOKUP -> "lookup"; case SEND -> "send"; case ADMIN -> "admin";
            case CTL_LIST -> "ctl list"; case CTL_CONNECT -> "ctl connect"; case CTL_SEND -> "ctl send"; case CTL_RECV -> "ctl recv";
            case CTL_SETOPT -> "ctl setopt"; case CTL_GETOPT -> "ctl getopt"; case CTL_CLOSE -> "ctl close";
            default -> "op 0x" + Integer.toHexString(op);
        };
    }
}
