package org.kextnet.kernel.wire;

import java.lang.foreign.MemorySegment;


/**
 * Ethernet II header view.
 * <pre>
 *  0                   6                  12      14
 * +-------------------+-------------------+-------+
 * |  destination MAC  |    source MAC     | type  |
 * +-------------------+-------------------+-------+
 * </pre>
 * MAC addresses are handled as the low 48 bits of a {@code long}.
 */
public final class Ethernet {
    private Ethernet() {}

    public static final int HEADER_LEN = 14;
    public static final int MIN_FRAME = 60;
    public static final int DST = 0, SRC = 6, TYPE = 12;
    public static final int TYPE_IPV4 = 0x0800, TYPE_ARP = 0x0806, TYPE_IPV6 = 0x86dd;
    public static final long BROADCAST = 0xffff_ffff_ffffL;

    public static long mac(MemorySegment s, long off) {
        return ((s.get(Bytes.U16, off) & 0xffffL) << 32) | (s.get(Bytes.U32, off + 2) & 0xffffffffL);
    }

    public static void putMac(MemorySegment s, long off, long mac) {
        s.set(Bytes.U16, off, (short) (mac >>> 32));
        s.set(Bytes.U32, off + 2, (int) mac);
    }

    // The header's fields are read and written as two overlapping 8-byte words, [0, 8) and [6, 14): one
    // memory access instead of two or three per field, which shows on the per-packet path.

    /** The destination MAC of a header of at least 14 bytes at {@code off}. */
    public static long dst(MemorySegment s, long off) { return s.get(Bytes.U64, off + DST) >>> 16; }
    /** The source MAC of a header of at least 14 bytes at {@code off}. */
    public static long src(MemorySegment s, long off) { return s.get(Bytes.U64, off + SRC) >>> 16; }
    public static int type(MemorySegment s, long off) { return s.get(Bytes.U16, off + TYPE) & 0xffff; }

    public static void write(MemorySegment s, long off, long dst, long src, int type) {
        s.set(Bytes.U64, off + DST, dst << 16 | (src >>> 32 & 0xffff));
        s.set(Bytes.U64, off + SRC, src << 16 | (type & 0xffff));
    }

    public static boolean isMulticast(long mac) { return (mac & 0x0100_0000_0000L) != 0; }

    /** "02:00:00:00:00:01" form. */
    public static String format(long mac) {
        StringBuilder b = new StringBuilder(17);
        for (int i = 5; i >= 0; i--) {
            int v = (int) (mac >>> (i * 8)) & 0xff;
            if (b.length() > 0) b.append(':');
            if (v < 16) b.append('0');
            b.append(Integer.toHexString(v));
        }
        return b.toString();
    }

    /** Parses "aa:bb:cc:dd:ee:ff". */
    public static long parse(String text) {
        String[] p = text.split(":", -1);
        if (p.length != 6) throw new IllegalArgumentException("bad MAC address: " + text);
        long mac = 0;
        for (String x : p) {
            // Two hex digits at most and nothing else (parseInt alone would take "+1" or "-0").
            if (x.isEmpty() || x.length() > 2 || !x.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
                throw new IllegalArgumentException("bad MAC address: " + text);
            }
            mac = mac << 8 | Integer.parseInt(x, 16);
        }
        return mac;
    }
}
