package org.kextnet.kernel.wire;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;


/** The Internet checksum (RFC 1071) and its incremental update (RFC 1624). */
public final class Checksum {
    private Checksum() {}

    /**
     * Adds {@code len} bytes at {@code off} to a running 32-bit one's-complement sum (not yet folded).
     * Reads 8 bytes at a time; the caller folds with {@link #fold}.
     */
    public static long sum(MemorySegment seg, long off, int len, long acc) {
        long end = off + (len & ~7);
        while (off < end) {
            long v = seg.get(Bytes.U64, off);
            acc += (v >>> 32) + (v & 0xffffffffL);
            off += 8;
        }
        int rest = len & 7;
        if (rest >= 4) { acc += seg.get(Bytes.U32, off) & 0xffffffffL; off += 4; rest -= 4; }
        if (rest >= 2) { acc += seg.get(Bytes.U16, off) & 0xffff; off += 2; rest -= 2; }
        if (rest == 1) { acc += (seg.get(ValueLayout.JAVA_BYTE, off) & 0xff) << 8; }
        return acc;
    }

    /** Folds a running sum to 16 bits (not complemented). */
    public static int fold(long acc) {
        acc = (acc & 0xffffffffL) + (acc >>> 32);
        acc = (acc & 0xffffffffL) + (acc >>> 32);
        int s = (int) ((acc & 0xffff) + (acc >>> 16 & 0xffff) + (acc >>> 32));
        s = (s & 0xffff) + (s >>> 16);
        return (s & 0xffff) + (s >>> 16);
    }

    /** The checksum (complemented, 16 bits) of a byte range. A range that contains its own correct checksum gives 0. */
    public static int checksum(MemorySegment seg, long off, int len) {
        return ~fold(sum(seg, off, len, 0)) & 0xffff;
    }

    /** The IPv4 pseudo-header sum (RFC 768/793) for a transport checksum. */
    public static long pseudoHeader(int src, int dst, int protocol, int length) {
        return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
    }

    /**
     * Incrementally updates checksum {@code hc} for a 16-bit field changing from {@code old} to {@code now}
     * (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')).
     */
    public static int update16(int hc, int old, int now) {
        int s = (~hc & 0xffff) + (~old & 0xffff) + (now & 0xffff);
        s = (s & 0xffff) + (s >>> 16);
        s = (s & 0xffff) + (s >>> 16);
        return ~s & 0xffff;
    }

    /** Incremental update for a 32-bit field (an address) changing. */
    public static int update32(int hc, int old, int now) {
        return update16(update16(hc, old >>> 16, now >>> 16), old & 0xffff, now & 0xffff);
    }
}
