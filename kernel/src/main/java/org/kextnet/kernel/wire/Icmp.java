package org.kextnet.kernel.wire;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;


/**
 * ICMP message view (RFC 792).
 * <pre>
 *  0       1       2               4
 * +-------+-------+---------------+-------------------------------+
 * | type  | code  |   checksum    | rest of header (id/seq, mtu)  |
 * +-------+-------+---------------+-------------------------------+
 * </pre>
 */
public final class Icmp {
    private Icmp() {}

    public static final int HEADER_LEN = 8;
    public static final int TYPE = 0, CODE = 1, CHECKSUM = 2, ID = 4, SEQ = 6, NEXT_HOP_MTU = 6;
    public static final int ECHO_REPLY = 0, UNREACH = 3, ECHO = 8, TIME_EXCEEDED = 11, PARAM_PROBLEM = 12;
    public static final int UNREACH_NET = 0, UNREACH_HOST = 1, UNREACH_PROTOCOL = 2, UNREACH_PORT = 3, UNREACH_NEEDFRAG = 4;
    public static final int TIMX_INTRANS = 0, TIMX_REASS = 1;

    public static int type(MemorySegment s, long o) { return s.get(ValueLayout.JAVA_BYTE, o + TYPE) & 0xff; }
    public static int code(MemorySegment s, long o) { return s.get(ValueLayout.JAVA_BYTE, o + CODE) & 0xff; }
    public static int id(MemorySegment s, long o) { return s.get(Bytes.U16, o + ID) & 0xffff; }
    public static int seq(MemorySegment s, long o) { return s.get(Bytes.U16, o + SEQ) & 0xffff; }
    public static int checksum(MemorySegment s, long o) { return s.get(Bytes.U16, o + CHECKSUM) & 0xffff; }

    public static void setType(MemorySegment s, long o, int t) { s.set(ValueLayout.JAVA_BYTE, o + TYPE, (byte) t); }
    public static void setCode(MemorySegment s, long o, int c) { s.set(ValueLayout.JAVA_BYTE, o + CODE, (byte) c); }
    public static void setChecksum(MemorySegment s, long o, int c) { s.set(Bytes.U16, o + CHECKSUM, (short) c); }

    /** Fills the checksum over {@code len} bytes of message. */
    public static void fillChecksum(MemorySegment s, long o, int len) {
        setChecksum(s, o, 0);
        setChecksum(s, o, Checksum.checksum(s, o, len));
    }

    /** True if the message checksum over {@code len} bytes is correct. */
    public static boolean checksumValid(MemorySegment s, long o, int len) {
        return Checksum.checksum(s, o, len) == 0;
    }

    /** True for the error types (which never provoke an error in return, RFC 1122 3.2.2). */
    public static boolean isError(int type) {
        return type == UNREACH || type == TIME_EXCEEDED || type == PARAM_PROBLEM || type == 4 || type == 5;
    }
}
