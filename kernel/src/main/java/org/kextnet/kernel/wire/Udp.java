package org.kextnet.kernel.wire;

import java.lang.foreign.MemorySegment;


/**
 * UDP header view (RFC 768).
 * <pre>
 *  0               2               4               6               8
 * +---------------+---------------+---------------+---------------+
 * |  source port  |   dest port   |    length     |   checksum    |
 * +---------------+---------------+---------------+---------------+
 * </pre>
 */
public final class Udp {
    private Udp() {}

    public static final int HEADER_LEN = 8;
    public static final int SRC_PORT = 0, DST_PORT = 2, LENGTH = 4, CHECKSUM = 6;

    public static int srcPort(MemorySegment s, long o) { return s.get(Bytes.U16, o + SRC_PORT) & 0xffff; }
    public static int dstPort(MemorySegment s, long o) { return s.get(Bytes.U16, o + DST_PORT) & 0xffff; }
    public static int length(MemorySegment s, long o) { return s.get(Bytes.U16, o + LENGTH) & 0xffff; }
    public static int checksum(MemorySegment s, long o) { return s.get(Bytes.U16, o + CHECKSUM) & 0xffff; }

    public static void write(MemorySegment s, long o, int srcPort, int dstPort, int length) {
        s.set(Bytes.U16, o + SRC_PORT, (short) srcPort);
        s.set(Bytes.U16, o + DST_PORT, (short) dstPort);
        s.set(Bytes.U16, o + LENGTH, (short) length);
        s.set(Bytes.U16, o + CHECKSUM, (short) 0);
    }

    /** The transport checksum over pseudo-header and datagram; 0 means correct for a received one. */
    public static int computeChecksum(MemorySegment s, long o, int len, int src, int dst) {
        return ~Checksum.fold(Checksum.sum(s, o, len, Checksum.pseudoHeader(src, dst, Ipv4.PROTO_UDP, len))) & 0xffff;
    }

    /** Fills the checksum of an outgoing datagram (0 is sent as 0xffff, RFC 768). */
    public static void fillChecksum(MemorySegment s, long o, int len, int src, int dst) {
        s.set(Bytes.U16, o + CHECKSUM, (short) 0);
        int c = computeChecksum(s, o, len, src, dst);
        s.set(Bytes.U16, o + CHECKSUM, (short) (c == 0 ? 0xffff : c));
    }
}
