package org.kextnet.loader.rpc;

/**
 * Constants of the kern_loader RPC (docs/rpc.md): the greeting, the frame layout, limits and event codes. The
 * operations and their codes are {@link Op}; requests {@link Request}, responses {@link Response}, events {@link Event}.
 *
 * <pre>
 * greeting, client:  "KLDR" u16 version u16 0
 * greeting, server:  "KLDR" u16 version u16 flags u64 replyPort str user [u32 pid, from version 3]
 * frame:             u32 length (of what follows, 5..Op.maxFrame) u8 op u32 tag body
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
     * operations ({@link Op#CTL_LIST} .. {@link Op#CTL_CLOSE}); 3 the daemon's pid in its greeting, the CLOSING event,
     * responses in parts ({@link #PART}) and ADMIN output of any length; 4 each server's extension health and
     * per-registration counters in its info ({@link InfoCodec}), and {@code -j} (JSON) on admin listings.
     */
    public static final int VERSION = 4;
    public static final int MIN_VERSION = 1;
    public static final int MAX_FRAME = 16 << 20;
    public static final int MAX_STRING = 65535;
    /** The largest {@code str} field: its length and {@link #MAX_STRING} bytes. */
    static final int MAX_STR_FIELD = 2 + MAX_STRING;

    /**
     * Greeting flags from the server. BUSY: the daemon is at its connection limit; a response frame with op 0x80, tag 0,
     * status 128 and the reason follows, then the daemon closes the connection (VERSION_REFUSED is set with it, so
     * that a client older than BUSY gives up too).
     */
    public static final int HELLO_PRIVILEGED = 1, HELLO_VERSION_REFUSED = 2, HELLO_BUSY = 4;

    /** Most control connections one RPC client may hold. */
    public static final int MAX_CONTROLS = 64;
    /** Largest CTL_RECV and CTL_GETOPT buffer a request may ask for, and longest CTL_RECV wait. */
    public static final int MAX_CTL_BUFFER = 1 << 20, MAX_CTL_WAIT_MILLIS = 600_000;
    /** Most the daemon allocates for one CTL_RECV or CTL_GETOPT, whatever was asked: a longer message is truncated. */
    public static final int MAX_CTL_ALLOC = 256 * 1024;
    /** Largest message body of SEND and CTL_SEND. */
    public static final int MAX_MESSAGE = 256 * 1024;
    /** Largest option value of CTL_SETOPT. */
    public static final int MAX_OPTION = 64 * 1024;

    /** A response's op is the request's op with this bit set. */
    public static final int RESPONSE = 0x80;
    /**
     * Events (tag 0): a log line; an unsolicited message to the client's reply port; (version 3) the daemon is about to
     * close the connection, and why.
     */
    public static final int EVENT_LOG = 0xF0, EVENT_PORT_MSG = 0xF1, EVENT_CLOSING = 0xF2;
    /**
     * Version 3: a part of a response too long for one frame, with the request's tag; the response frame that ends it
     * carries the rest, and its body is the parts' bytes followed by its own.
     */
    public static final int PART = 0xF3;
    /** The longest body the daemon puts in one frame of a response to a version-3 client; the rest goes in parts. */
    public static final int PART_SIZE = 1 << 20;
    /** The longest response a Java client puts together from parts. */
    public static final int MAX_RESPONSE = 256 << 20;

    /** SEND flag: the sender wants the server's reply. */
    public static final int SEND_WANTS_REPLY = 1;
}
