package org.kextnet.kernel.wire;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;


/**
 * IPv4 header view (RFC 791).
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version|  IHL  |Type of Service|          Total Length         |  0
 * |         Identification        |Flags|      Fragment Offset    |  4
 * |  Time to Live |    Protocol   |         Header Checksum       |  8
 * |                       Source Address                          | 12
 * |                    Destination Address                        | 16
 * |                    Options                    |    Padding    | 20
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 */
public final class Ipv4 {
    private Ipv4() {}

    public static final int MIN_HEADER = 20, MAX_HEADER = 60;
    public static final int VER_IHL = 0, TOS = 1, TOTAL_LENGTH = 2, ID = 4, FRAG = 6, TTL = 8, PROTOCOL = 9,
            CHECKSUM = 10, SRC = 12, DST = 16, OPTIONS = 20;
    public static final int FLAG_DF = 0x4000, FLAG_MF = 0x2000, OFFSET_MASK = 0x1fff;
    public static final int PROTO_ICMP = 1, PROTO_TCP = 6, PROTO_UDP = 17;
    public static final int DEFAULT_TTL = 64;
    public static final int BROADCAST = 0xffffffff;
    public static final int MAX_PACKET = 65535;

    public static int version(MemorySegment s, long o) { return (s.get(ValueLayout.JAVA_BYTE, o) & 0xff) >>> 4; }
    public static int headerLength(MemorySegment s, long o) { return (s.get(ValueLayout.JAVA_BYTE, o) & 0x0f) << 2; }
    public static int tos(MemorySegment s, long o) { return s.get(ValueLayout.JAVA_BYTE, o + TOS) & 0xff; }
    public static int totalLength(MemorySegment s, long o) { return s.get(Bytes.U16, o + TOTAL_LENGTH) & 0xffff; }
    public static int id(MemorySegment s, long o) { return s.get(Bytes.U16, o + ID) & 0xffff; }
    /** Flags and fragment offset, as on the wire. */
    public static int frag(MemorySegment s, long o) { return s.get(Bytes.U16, o + FRAG) & 0xffff; }
    public static int fragmentOffsetBytes(MemorySegment s, long o) { return (frag(s, o) & OFFSET_MASK) << 3; }
    public static boolean moreFragments(MemorySegment s, long o) { return (frag(s, o) & FLAG_MF) != 0; }
    public static boolean dontFragment(MemorySegment s, long o) { return (frag(s, o) & FLAG_DF) != 0; }
    /** True for any fragment: MF set or a non-zero offset. */
    public static boolean isFragment(MemorySegment s, long o) { return (frag(s, o) & (FLAG_MF | OFFSET_MASK)) != 0; }
    public static int ttl(MemorySegment s, long o) { return s.get(ValueLayout.JAVA_BYTE, o + TTL) & 0xff; }
    public static int protocol(MemorySegment s, long o) { return s.get(ValueLayout.JAVA_BYTE, o + PROTOCOL) & 0xff; }
    public static int checksum(MemorySegment s, long o) { return s.get(Bytes.U16, o + CHECKSUM) & 0xffff; }

    /** Where the checksum lies in the header of transport {@code protocol}: TCP's at 16, UDP's at 6; -1 for others. */
    public static int transportChecksumOffset(int protocol) {
        return protocol == PROTO_TCP ? 16 : protocol == PROTO_UDP ? 6 : -1;
    }
    public static int src(MemorySegment s, long o) { return s.get(Bytes.U32, o + SRC); }
    public static int dst(MemorySegment s, long o) { return s.get(Bytes.U32, o + DST); }

    public static void setTotalLength(MemorySegment s, long o, int v) { s.set(Bytes.U16, o + TOTAL_LENGTH, (short) v); }
    public static void setFrag(MemorySegment s, long o, int v) { s.set(Bytes.U16, o + FRAG, (short) v); }
    public static void setTtl(MemorySegment s, long o, int v) { s.set(ValueLayout.JAVA_BYTE, o + TTL, (byte) v); }
    public static void setChecksum(MemorySegment s, long o, int v) { s.set(Bytes.U16, o + CHECKSUM, (short) v); }
    public static void setSrc(MemorySegment s, long o, int v) { s.set(Bytes.U32, o + SRC, v); }
    public static void setDst(MemorySegment s, long o, int v) { s.set(Bytes.U32, o + DST, v); }

    /** Writes a 20-byte header without options and fills its checksum. */
    public static void write(MemorySegment s, long o, int tos, int totalLength, int id, int frag, int ttl,
                             int protocol, int src, int dst) {
        s.set(Bytes.U16, o, (short) (0x4500 | (tos & 0xff)));
        s.set(Bytes.U16, o + TOTAL_LENGTH, (short) totalLength);
        s.set(Bytes.U16, o + ID, (short) id);
        s.set(Bytes.U16, o + FRAG, (short) frag);
        s.set(ValueLayout.JAVA_BYTE, o + TTL, (byte) ttl);
        s.set(ValueLayout.JAVA_BYTE, o + PROTOCOL, (byte) protocol);
        s.set(Bytes.U16, o + CHECKSUM, (short) 0);
        s.set(Bytes.U32, o + SRC, src);
        s.set(Bytes.U32, o + DST, dst);
        fillChecksum(s, o);
    }

    /** Recomputes the header checksum. */
    public static void fillChecksum(MemorySegment s, long o) {
        s.set(Bytes.U16, o + CHECKSUM, (short) 0);
        s.set(Bytes.U16, o + CHECKSUM, (short) Checksum.checksum(s, o, headerLength(s, o)));
    }

    /** Decrements the TTL and patches the checksum incrementally (RFC 1624). */
    public static void decrementTtl(MemorySegment s, long o) {
        // TTL, protocol and checksum are one 32-bit word: one read and one write.
        decrementTtl(s, o, s.get(Bytes.U32, o + TTL));
    }

    /** As {@link #decrementTtl(MemorySegment, long)}, given the TTL/protocol/checksum word already read. */
    public static void decrementTtl(MemorySegment s, long o, int ttlWord) {
        int oldWord = ttlWord >>> 16;
        int newWord = oldWord - 0x100;
        s.set(Bytes.U32, o + TTL, (newWord & 0xffff) << 16 | Checksum.update16(ttlWord & 0xffff, oldWord, newWord));
    }

    /** What is wrong with a received header, in the order {@link #check} tests it. */
    public enum Fault {
        /** Fewer bytes than a fixed header. */
        TOO_SHORT,
        /** Not version 4. */
        BAD_VERSION,
        /** A header length under 20 bytes or over the bytes received. */
        BAD_HEADER_LENGTH,
        /** A total length under the header length. */
        BAD_LENGTH,
        /** A total length over the bytes received. */
        TRUNCATED,
        BAD_CHECKSUM,
        /** An option whose length does not fit (RFC 791 3.1). */
        BAD_OPTIONS
    }

    /**
     * Validates a received header against the {@code len} bytes available: version, header length,
     * total length, options and checksum (unless {@code skipChecksum}). Returns null if valid, else what is
     * wrong with it. Never throws for any content within {@code len} bytes.
     */
    public static Fault check(MemorySegment s, long o, int len, boolean skipChecksum) {
        if (len < MIN_HEADER) return Fault.TOO_SHORT;
        long w0 = s.get(Bytes.U64, o);
        if ((w0 >>> 56) == 0x45) return checkWords(w0, s.get(Bytes.U64, o + 8), s.get(Bytes.U32, o + DST), len, skipChecksum);
        if (version(s, o) != 4) return Fault.BAD_VERSION;
        int hl = headerLength(s, o);
        if (hl < MIN_HEADER) return Fault.BAD_HEADER_LENGTH;
        if (hl > len) return Fault.BAD_HEADER_LENGTH;
        int total = totalLength(s, o);
        if (total < hl) return Fault.BAD_LENGTH;
        if (total > len) return Fault.TRUNCATED;
        if (!skipChecksum && Checksum.checksum(s, o, hl) != 0) return Fault.BAD_CHECKSUM;
        if (hl > MIN_HEADER && !optionsWellFormed(s, o + MIN_HEADER, hl - MIN_HEADER)) return Fault.BAD_OPTIONS;
        return null;
    }

    /**
     * {@link #check} for the common header (version 4, 20 bytes, no options) given as its three words: bytes
     * 0-7, 8-15 and the destination. The checksum (RFC 1071: the sum of the five 32-bit words) comes from
     * them alone.
     */
    public static Fault checkWords(long w0, long w1, int dst, int len, boolean skipChecksum) {
        int total = (int) (w0 >>> 32) & 0xffff;
        if (total < MIN_HEADER) return Fault.BAD_LENGTH;
        if (total > len) return Fault.TRUNCATED;
        if (!skipChecksum) {
            long sum = (w0 >>> 32) + (w0 & 0xffffffffL) + (w1 >>> 32) + (w1 & 0xffffffffL) + (dst & 0xffffffffL);
            if (Checksum.fold(sum) != 0xffff) return Fault.BAD_CHECKSUM;
        }
        return null;
    }

    /**
     * Walks the option list (RFC 791 section 3.1) without acting on any option: each option's length must
     * fit. The stack honours no option; it only refuses malformed lists.
     */
    public static boolean optionsWellFormed(MemorySegment s, long o, int len) {
        int i = 0;
        while (i < len) {
            int type = s.get(ValueLayout.JAVA_BYTE, o + i) & 0xff;
            if (type == 0) return true;          // end of option list
            if (type == 1) { i++; continue; }    // no-operation
            if (i + 1 >= len) return false;
            int olen = s.get(ValueLayout.JAVA_BYTE, o + i + 1) & 0xff;
            if (olen < 2 || i + olen > len) return false;
            i += olen;
        }
        return true;
    }

    /** True for addresses no packet may come from: multicast, broadcast, 0/8 except 0.0.0.0, 127/8. */
    public static boolean isMartianSource(int a) {
        int first = a >>> 24;
        return first >= 224 || first == 127 || (first == 0 && a != 0);
    }

    /**
     * True for addresses no packet may be sent to across a link: 0/8 (this network, RFC 1122 3.2.1.3) and
     * 127/8 (loopback, which must never appear outside a host).
     */
    public static boolean isMartianDestination(int a) {
        int first = a >>> 24;
        return first == 0 || first == 127;
    }

    public static boolean isMulticast(int a) { return (a >>> 28) == 0xe; }

    public static String format(int a) {
        return (a >>> 24) + "." + (a >>> 16 & 0xff) + "." + (a >>> 8 & 0xff) + "." + (a & 0xff);
    }

    /** Parses a dotted quad. */
    public static int parse(String text) {
        String[] p = text.split("\\.", -1);
        if (p.length != 4) throw new IllegalArgumentException("bad IPv4 address: " + text);
        int a = 0;
        for (String x : p) {
            if (x.isEmpty() || x.length() > 3 || !x.chars().allMatch(Character::isDigit)) throw new IllegalArgumentException("bad IPv4 address: " + text);
            int v = Integer.parseInt(x);
            if (v > 255) throw new IllegalArgumentException("bad IPv4 address: " + text);
            a = a << 8 | v;
        }
        return a;
    }

    /** The netmask of a prefix length (0..32). */
    public static int mask(int prefix) { return prefix == 0 ? 0 : -1 << (32 - prefix); }
}
