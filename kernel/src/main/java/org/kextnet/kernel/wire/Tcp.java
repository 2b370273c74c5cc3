package org.kextnet.kernel.wire;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * TCP header view (RFC 9293 section 3.1) and its options (RFC 9293 3.2, RFC 7323, RFC 2018).
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |  0
 * |                        Sequence Number                        |  4
 * |                    Acknowledgment Number                      |  8
 * |  Data |       |C|E|U|A|P|R|S|F|                               |
 * | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             | 12
 * |       |       |R|E|G|K|H|T|N|N|                               |
 * |           Checksum            |         Urgent Pointer        | 16
 * |                           [Options]                           | 20
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 * Every accessor reads or writes the segment at offset {@code o} in network byte order; the caller has
 * checked that the header is there ({@link #check}). Nothing here allocates.
 */
public final class Tcp {
    private Tcp() {}

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    public static final int MIN_HEADER = 20, MAX_HEADER = 60;
    public static final int SRC_PORT = 0, DST_PORT = 2, SEQ = 4, ACK_NUM = 8, DATA_OFFSET = 12, FLAGS = 13, WINDOW = 14,
            CHECKSUM = 16, URGENT = 18, OPTIONS = 20;
    /** Control bits (byte 13). */
    public static final int FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10, URG = 0x20, ECE = 0x40,
            CWR = 0x80;
    /** Option kinds. */
    public static final int OPT_EOL = 0, OPT_NOP = 1, OPT_MSS = 2, OPT_WSCALE = 3, OPT_SACK_PERMITTED = 4, OPT_SACK = 5,
            OPT_TIMESTAMP = 8;
    /** Option lengths, kind and length bytes included. */
    public static final int LEN_MSS = 4, LEN_WSCALE = 3, LEN_SACK_PERMITTED = 2, LEN_TIMESTAMP = 10;
    /** RFC 7323 2.3: a shift count above 14 is used as 14. */
    public static final int MAX_WSCALE = 14;
    /** NOP, NOP, kind 8, length 10: the first word of the usual timestamp option. */
    private static final int TS_PREFIX = OPT_NOP << 24 | OPT_NOP << 16 | OPT_TIMESTAMP << 8 | LEN_TIMESTAMP;
    /** Up to 4 SACK blocks fit in 40 bytes of options (3 beside a timestamp). */
    public static final int MAX_SACK_BLOCKS = 4;

    public static int srcPort(MemorySegment s, long o) { return s.get(U16, o + SRC_PORT) & 0xffff; }
    public static int dstPort(MemorySegment s, long o) { return s.get(U16, o + DST_PORT) & 0xffff; }
    public static int seq(MemorySegment s, long o) { return s.get(U32, o + SEQ); }
    public static int ack(MemorySegment s, long o) { return s.get(U32, o + ACK_NUM); }
    /** The header length in bytes (data offset times 4). */
    public static int headerLength(MemorySegment s, long o) { return (s.get(ValueLayout.JAVA_BYTE, o + DATA_OFFSET) & 0xf0) >>> 2; }
    public static int flags(MemorySegment s, long o) { return s.get(ValueLayout.JAVA_BYTE, o + FLAGS) & 0xff; }
    public static int window(MemorySegment s, long o) { return s.get(U16, o + WINDOW) & 0xffff; }
    public static int checksum(MemorySegment s, long o) { return s.get(U16, o + CHECKSUM) & 0xffff; }
    public static int urgentPointer(MemorySegment s, long o) { return s.get(U16, o + URGENT) & 0xffff; }

    public static void setSeq(MemorySegment s, long o, int v) { s.set(U32, o + SEQ, v); }
    public static void setAck(MemorySegment s, long o, int v) { s.set(U32, o + ACK_NUM, v); }
    public static void setFlags(MemorySegment s, long o, int v) { s.set(ValueLayout.JAVA_BYTE, o + FLAGS, (byte) v); }
    public static void setWindow(MemorySegment s, long o, int v) { s.set(U16, o + WINDOW, (short) v); }
    public static void setChecksum(MemorySegment s, long o, int v) { s.set(U16, o + CHECKSUM, (short) v); }
    public static void setUrgentPointer(MemorySegment s, long o, int v) { s.set(U16, o + URGENT, (short) v); }

    /**
     * Writes the fixed header: ports, numbers, a header length of {@code headerLength} bytes (options are
     * written after it by the caller), flags, window and urgent pointer; the checksum is zeroed.
     */
    public static void write(MemorySegment s, long o, int srcPort, int dstPort, int seq, int ack, int headerLength,
                             int flags, int window, int urgent) {
        s.set(U32, o, srcPort << 16 | dstPort & 0xffff);
        s.set(U32, o + SEQ, seq);
        s.set(U32, o + ACK_NUM, ack);
        s.set(U32, o + DATA_OFFSET, (headerLength << 2 & 0xf0) << 24 | (flags & 0xff) << 16 | window & 0xffff);
        s.set(U32, o + CHECKSUM, urgent & 0xffff);
    }

    /**
     * Checks a received segment of {@code len} bytes: the fixed header fits, the data offset is at least 5
     * words and within the segment. Returns 0 if well formed, else a non-zero reason: 1 too short, 2 bad offset.
     */
    public static int check(MemorySegment s, long o, int len) {
        if (len < MIN_HEADER) return 1;
        int hl = headerLength(s, o);
        if (hl < MIN_HEADER || hl > len) return 2;
        return 0;
    }

    /** The checksum over a segment of {@code len} bytes given its pseudo-header sum; 0 for a correct received segment. */
    public static int computeChecksum(MemorySegment s, long o, int len, long pseudoHeaderSum) {
        return ~Checksum.fold(Checksum.sum(s, o, len, pseudoHeaderSum)) & 0xffff;
    }

    /** Fills the checksum of an outgoing segment of {@code len} bytes. */
    public static void fillChecksum(MemorySegment s, long o, int len, long pseudoHeaderSum) {
        setChecksum(s, o, 0);
        setChecksum(s, o, computeChecksum(s, o, len, pseudoHeaderSum));
    }

    // ---- options ----

    /** Writes a 4-byte MSS option at {@code o}; returns its length. */
    public static int writeMss(MemorySegment s, long o, int mss) {
        s.set(U32, o, OPT_MSS << 24 | LEN_MSS << 16 | mss & 0xffff);
        return 4;
    }

    /** Writes NOP, window scale (4 bytes, aligned); returns the length. */
    public static int writeWindowScale(MemorySegment s, long o, int shift) {
        s.set(U32, o, OPT_NOP << 24 | OPT_WSCALE << 16 | LEN_WSCALE << 8 | shift & 0xff);
        return 4;
    }

    /** Writes NOP, NOP, SACK-permitted (4 bytes, aligned); returns the length. */
    public static int writeSackPermitted(MemorySegment s, long o) {
        s.set(U32, o, OPT_NOP << 24 | OPT_NOP << 16 | OPT_SACK_PERMITTED << 8 | LEN_SACK_PERMITTED);
        return 4;
    }

    /** Writes NOP, NOP, timestamps (12 bytes, aligned, the layout of RFC 7323 appendix A); returns the length. */
    public static int writeTimestamps(MemorySegment s, long o, int tsVal, int tsEcr) {
        s.set(U32, o, OPT_NOP << 24 | OPT_NOP << 16 | OPT_TIMESTAMP << 8 | LEN_TIMESTAMP);
        s.set(U32, o + 4, tsVal);
        s.set(U32, o + 8, tsEcr);
        return 12;
    }

    /** The length of {@link #writeSynOptions}' options: a multiple of 4. */
    public static int synOptionsLength(boolean windowScale, boolean sackPermitted, boolean timestamps) {
        return LEN_MSS + (timestamps ? 12 : sackPermitted ? 4 : 0) + (windowScale ? 4 : 0);
    }

    /**
     * Writes the options of a SYN or SYN-ACK in 20 bytes at most: MSS; then SACK-permitted packed with the
     * timestamps (or NOP, NOP, timestamps; or NOP, NOP, SACK-permitted without them); then NOP, window scale. Each
     * 4-byte field stays aligned, as RFC 7323 appendix A asks of the timestamps, and it is the order Linux uses, so
     * that a SYN reads the same whichever of the two stacks sent it.
     * @param windowScale the shift to announce, or -1 for none
     * @return the length written ({@link #synOptionsLength})
     */
    public static int writeSynOptions(MemorySegment s, long o, int mss, int windowScale, boolean sackPermitted,
                                      boolean timestamps, int tsVal, int tsEcr) {
        long p = o + writeMss(s, o, mss);
        if (timestamps) {
            int first = sackPermitted ? OPT_SACK_PERMITTED << 24 | LEN_SACK_PERMITTED << 16 | OPT_TIMESTAMP << 8 | LEN_TIMESTAMP
                    : TS_PREFIX;
            s.set(U32, p, first);
            s.set(U32, p + 4, tsVal);
            s.set(U32, p + 8, tsEcr);
            p += 12;
        } else if (sackPermitted) {
            p += writeSackPermitted(s, p);
        }
        if (windowScale >= 0) p += writeWindowScale(s, p, windowScale);
        return (int) (p - o);
    }

    /**
     * Writes NOP, NOP, a SACK option with {@code n} blocks taken from {@code edges} as (left, right) pairs;
     * returns the length (4 + 8n).
     */
    public static int writeSack(MemorySegment s, long o, int[] edges, int n) {
        s.set(U32, o, OPT_NOP << 24 | OPT_NOP << 16 | OPT_SACK << 8 | (2 + 8 * n));
        for (int i = 0; i < 2 * n; i++) s.set(U32, o + 4 + 4L * i, edges[i]);
        return 4 + 8 * n;
    }

    /**
     * The options of one segment, parsed into a reusable holder (one per parser; not thread-safe). Fields
     * not present keep their "absent" values after {@link #parse}.
     */
    public static final class Options {
        /** The MSS option's value, or -1. */
        public int mss;
        /** The window-scale shift (capped at 14, RFC 7323 2.3), or -1. */
        public int windowScale;
        public boolean sackPermitted;
        public boolean hasTimestamps;
        public int tsVal, tsEcr;
        /** SACK blocks as (left, right) pairs in {@link #sack}[0 .. 2 * sackBlocks). */
        public int sackBlocks;
        public final int[] sack = new int[2 * MAX_SACK_BLOCKS];

        public void clear() {
            mss = -1;
            windowScale = -1;
            sackPermitted = false;
            hasTimestamps = false;
            tsVal = tsEcr = 0;
            sackBlocks = 0;
        }

        /**
         * Parses the options of the header at {@code o} (its length taken from the data offset, already
         * checked). Unknown options are skipped (RFC 9293 MUST-6); an option whose length is below 2 or runs
         * past the header, or a known option with the wrong length, makes the list malformed (MUST-7).
         * @return false if malformed (the holder is then partly filled)
         */
        public boolean parse(MemorySegment s, long o) {
            clear();
            int end = headerLength(s, o);
            if (end == MIN_HEADER + 12 && s.get(U32, o + OPTIONS) == TS_PREFIX) {
                // RFC 7323 appendix A: the layout nearly every segment of a timestamp connection has
                hasTimestamps = true;
                tsVal = s.get(U32, o + OPTIONS + 4);
                tsEcr = s.get(U32, o + OPTIONS + 8);
                return true;
            }
            int i = OPTIONS;
            while (i < end) {
                int kind = s.get(ValueLayout.JAVA_BYTE, o + i) & 0xff;
                if (kind == OPT_EOL) return true;
                if (kind == OPT_NOP) { i++; continue; }
                if (i + 1 >= end) return false;
                int len = s.get(ValueLayout.JAVA_BYTE, o + i + 1) & 0xff;
                if (len < 2 || i + len > end) return false;
                switch (kind) {
                    case OPT_MSS -> {
                        if (len != LEN_MSS) return false;
                        mss = s.get(U16, o + i + 2) & 0xffff;
                    }
                    case OPT_WSCALE -> {
                        if (len != LEN_WSCALE) return false;
                        windowScale = Math.min(s.get(ValueLayout.JAVA_BYTE, o + i + 2) & 0xff, MAX_WSCALE);
                    }
                    case OPT_SACK_PERMITTED -> {
                        if (len != LEN_SACK_PERMITTED) return false;
                        sackPermitted = true;
                    }
                    case OPT_TIMESTAMP -> {
                        if (len != LEN_TIMESTAMP) return false;
                        hasTimestamps = true;
                        tsVal = s.get(U32, o + i + 2);
                        tsEcr = s.get(U32, o + i + 6);
                    }
                    case OPT_SACK -> {
                        if ((len - 2) % 8 != 0) return false;
                        int n = Math.min((len - 2) / 8, MAX_SACK_BLOCKS);
                        for (int b = 0; b < 2 * n; b++) sack[b] = s.get(U32, o + i + 2 + 4L * b);
                        sackBlocks = n;
                    }
                    default -> { } // unknown: skipped by its length
                }
                i += len;
            }
            return true;
        }
    }

    /** Flags as text, in the order tcpdump prints them ("S.", "F.", "R", "P."). */
    public static String formatFlags(int flags) {
        StringBuilder b = new StringBuilder();
        if ((flags & SYN) != 0) b.append('S');
        if ((flags & FIN) != 0) b.append('F');
        if ((flags & RST) != 0) b.append('R');
        if ((flags & PSH) != 0) b.append('P');
        if ((flags & URG) != 0) b.append('U');
        if ((flags & ECE) != 0) b.append('E');
        if ((flags & CWR) != 0) b.append('W');
        if ((flags & ACK) != 0) b.append('.');
        return b.toString();
    }
}
