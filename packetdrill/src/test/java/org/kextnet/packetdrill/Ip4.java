package org.kextnet.packetdrill;

import java.nio.ByteBuffer;

/**
 * IPv4 packets as packetdrill would inject them, and accessors for the ones the stack sends, written here from
 * the RFCs so that no kernel code builds the packets it is tested with.
 */
final class Ip4 {
    static final int LOCAL = 0xc0a80001;  // 192.168.0.1
    static final int REMOTE = 0xc0000201; // 192.0.2.1
    static final int UDP = 17, ICMP = 1, TCP = 6;
    /** TCP's control bits. */
    static final int FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10;

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

    /** A TCP segment; {@code options} raw (a multiple of 4 bytes). */
    static byte[] tcp(int src, int srcPort, int dst, int dstPort, int seq, int ack, int flags, int window, byte[] options,
                      byte[] payload) {
        int hl = 20 + options.length;
        ByteBuffer t = ByteBuffer.allocate(hl + payload.length);
        t.putShort((short) srcPort).putShort((short) dstPort).putInt(seq).putInt(ack).put((byte) (hl / 4 << 4)).put((byte) flags)
                .putShort((short) window).putShort((short) 0).putShort((short) 0).put(options).put(payload);
        byte[] l4 = t.array();
        int c = fold(pseudoSum(src, dst, TCP, l4.length) + sum(l4));
        l4[16] = (byte) (c >>> 8);
        l4[17] = (byte) c;
        return ip(src, dst, TCP, 0, l4);
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

    static int tcpSeq(byte[] p) { return ByteBuffer.wrap(p).getInt(l4(p) + 4); }
    static int tcpAck(byte[] p) { return ByteBuffer.wrap(p).getInt(l4(p) + 8); }
    static int tcpFlags(byte[] p) { return p[l4(p) + 13] & 0xff; }
    static int tcpWindow(byte[] p) { return u16(p, l4(p) + 14); }
    private static int tcpHeaderLength(byte[] p) { return (p[l4(p) + 12] & 0xf0) >>> 2; }

    /** The options of a segment the stack sent, as bytes. */
    static byte[] tcpOptions(byte[] p) {
        int o = l4(p);
        byte[] out = new byte[tcpHeaderLength(p) - 20];
        System.arraycopy(p, o + 20, out, 0, out.length);
        return out;
    }

    /** The payload of a segment the stack sent. */
    static byte[] tcpPayload(byte[] p) {
        int o = l4(p) + tcpHeaderLength(p);
        int len = u16(p, 2) - o;
        byte[] out = new byte[len];
        System.arraycopy(p, o, out, 0, len);
        return out;
    }

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
