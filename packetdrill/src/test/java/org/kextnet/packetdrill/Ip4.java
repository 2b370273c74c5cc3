package org.kextnet.packetdrill;

import java.nio.ByteBuffer;

/**
 * IPv4 packets as packetdrill would inject them, and accessors for the ones the stack sends, written here from
 * the RFCs so that no kernel code builds the packets it is tested with.
 */
final class Ip4 {
    static final int LOCAL = 0xc0a80001;  // 192.168.0.1
    static final int REMOTE = 0xc0000201; // 192.0.2.1
    static final int UDP = 17, ICMP = 1;

    private Ip4() {}

    static byte[] udp(int src, int srcPort, int dst, int dstPort, byte[] payload) {
        ByteBuffer u = ByteBuffer.allocate(8 + payload.length);
        u.putShort((short) srcPort).putShort((short) dstPort).putShort((short) (8 + payload.length)).putShort((short) 0).put(payload);
        byte[] l4 = u.array();
        long sum = pseudoSum(src, dst, UDP, l4.length) + sum(l4);
        int c = fold(sum);
        if (c == 0) c = 0xffff;
        l4[6] = (byte) (c >>> 8);
        l4[7] = (byte) c;
        return ip(src, dst, UDP, 0, l4);
    }

    static byte[] echoRequest(int src, int dst, int id, int seq, int payloadLength) {
        byte[] l4 = new byte[8 + payloadLength];
        l4[0] = 8;
        l4[4] = (byte) (id >>> 8);
        l4[5] = (byte) id;
        l4[6] = (byte) (seq >>> 8);
        l4[7] = (byte) seq;
        for (int i = 0; i < payloadLength; i++) l4[8 + i] = (byte) (i * 7);
        int c = fold(sum(l4));
        l4[2] = (byte) (c >>> 8);
        l4[3] = (byte) c;
        return ip(src, dst, ICMP, 0, l4);
    }

    /** An IPv4 packet around {@code l4}; {@code fragment} is the flags-and-offset word (0x2000: more fragments). */
    static byte[] ip(int src, int dst, int protocol, int fragment, byte[] l4) {
        ByteBuffer b = ByteBuffer.allocate(20 + l4.length);
        b.put((byte) 0x45).put((byte) 0).putShort((short) (20 + l4.length)).putShort((short) 0x1234)
                .putShort((short) fragment).put((byte) 64).put((byte) protocol).putShort((short) 0).putInt(src).putInt(dst);
        byte[] p = b.put(l4).array();
        int c = fold(sum(p, 0, 20));
        p[10] = (byte) (c >>> 8);
        p[11] = (byte) c;
        return p;
    }

    static int protocol(byte[] p) { return p[9] & 0xff; }
    static int src(byte[] p) { return ByteBuffer.wrap(p).getInt(12); }
    static int dst(byte[] p) { return ByteBuffer.wrap(p).getInt(16); }
    static int l4(byte[] p) { return (p[0] & 0x0f) * 4; }
    static int srcPort(byte[] p) { return u16(p, l4(p)); }
    static int dstPort(byte[] p) { return u16(p, l4(p) + 2); }
    static int icmpType(byte[] p) { return p[l4(p)] & 0xff; }
    static int icmpCode(byte[] p) { return p[l4(p) + 1] & 0xff; }

    /** The UDP payload of a datagram the stack sent. */
    static byte[] udpPayload(byte[] p) {
        int o = l4(p);
        int len = u16(p, o + 4) - 8;
        byte[] out = new byte[len];
        System.arraycopy(p, o + 8, out, 0, len);
        return out;
    }

    private static int u16(byte[] p, int at) { return (p[at] & 0xff) << 8 | (p[at + 1] & 0xff); }

    private static long pseudoSum(int src, int dst, int protocol, int length) {
        return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
    }

    private static long sum(byte[] b) { return sum(b, 0, b.length); }

    private static long sum(byte[] b, int from, int len) {
        long s = 0;
        for (int i = 0; i < len; i += 2) s += (b[from + i] & 0xff) << 8 | (i + 1 < len ? b[from + i + 1] & 0xff : 0);
        return s;
    }

    private static int fold(long s) {
        while ((s >>> 16) != 0) s = (s & 0xffff) + (s >>> 16);
        return (int) ~s & 0xffff;
    }
}
