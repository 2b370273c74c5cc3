package org.kextnet.kernel.wire;

import java.lang.foreign.MemorySegment;


/**
 * ARP packet view for IPv4 over Ethernet (RFC 826).
 * <pre>
 *  0       2       4   5   6       8              14      18             24      28
 * +-------+-------+---+---+-------+--------------+-------+--------------+-------+
 * | htype | ptype |hln|pln|  op   | sender MAC   |sndr IP| target MAC   |tgt IP |
 * +-------+-------+---+---+-------+--------------+-------+--------------+-------+
 * </pre>
 */
public final class Arp {
    private Arp() {}

    public static final int LEN = 28;
    public static final int HTYPE = 0, PTYPE = 2, HLEN = 4, PLEN = 5, OP = 6, SHA = 8, SPA = 14, THA = 18, TPA = 24;
    public static final int OP_REQUEST = 1, OP_REPLY = 2;
    public static final int HTYPE_ETHERNET = 1;

    /** Null if the packet is a well-formed IPv4-over-Ethernet ARP packet, else the reason it is not. */
    public static String check(MemorySegment s, long off, int len) {
        if (len < LEN) return "short";
        if ((s.get(Bytes.U16, off + HTYPE) & 0xffff) != HTYPE_ETHERNET
                || (s.get(Bytes.U16, off + PTYPE) & 0xffff) != Ethernet.TYPE_IPV4
                || s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, off + HLEN) != 6
                || s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, off + PLEN) != 4) return "format";
        int op = op(s, off);
        if (op != OP_REQUEST && op != OP_REPLY) return "op";
        return null;
    }

    public static int op(MemorySegment s, long off) { return s.get(Bytes.U16, off + OP) & 0xffff; }
    public static long senderMac(MemorySegment s, long off) { return Ethernet.mac(s, off + SHA); }
    public static int senderIp(MemorySegment s, long off) { return s.get(Bytes.U32, off + SPA); }
    public static long targetMac(MemorySegment s, long off) { return Ethernet.mac(s, off + THA); }
    public static int targetIp(MemorySegment s, long off) { return s.get(Bytes.U32, off + TPA); }

    public static void write(MemorySegment s, long off, int op, long sha, int spa, long tha, int tpa) {
        s.set(Bytes.U16, off + HTYPE, (short) HTYPE_ETHERNET);
        s.set(Bytes.U16, off + PTYPE, (short) Ethernet.TYPE_IPV4);
        s.set(java.lang.foreign.ValueLayout.JAVA_BYTE, off + HLEN, (byte) 6);
        s.set(java.lang.foreign.ValueLayout.JAVA_BYTE, off + PLEN, (byte) 4);
        s.set(Bytes.U16, off + OP, (short) op);
        Ethernet.putMac(s, off + SHA, sha);
        s.set(Bytes.U32, off + SPA, spa);
        Ethernet.putMac(s, off + THA, tha);
        s.set(Bytes.U32, off + TPA, tpa);
    }
}
