package org.kextnet.testkit;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Builds and reads frames and packets as plain byte arrays, independently of the kernel's own header code,
 * so a test checks the kernel against a second implementation. Addresses are IPv4 addresses as ints and
 * MAC addresses as the low 48 bits of a long. Every builder fills in checksums.
 */
public final class Frames {
    private Frames() {}

    public static final int ETHERTYPE_IPV4 = 0x0800, ETHERTYPE_ARP = 0x0806;
    public static final int PROTO_ICMP = 1, PROTO_UDP = 17;
    public static final int ETHER_HEADER = 14, IP_HEADER = 20, UDP_HEADER = 8;

    /** Parses a dotted quad. */
    public static int ip(String dotted) {
        String[] p = dotted.split("\\.");
        if (p.length != 4) throw new IllegalArgumentException(dotted);
        int a = 0;
        for (String x : p) a = (a << 8) | Integer.parseInt(x);
        return a;
    }

    /** An Ethernet II frame. */
    public static byte[] ethernet(long dst, long src, int type, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(ETHER_HEADER + payload.length);
        putMac(b, dst);
        putMac(b, src);
        b.putShort((short) type).put(payload);
        return b.array();
    }

    private static void putMac(ByteBuffer b, long mac) {
        b.putShort((short) (mac >>> 32)).putInt((int) mac);
    }

    /** An IPv4 packet with a 20-byte header, TTL 64, id 0, no fragmentation. */
    public static byte[] ipv4(int src, int dst, int protocol, byte[] payload) {
        return ipv4(src, dst, protocol, 64, 0, payload);
    }

    /** An IPv4 packet with a 20-byte header. */
    public static byte[] ipv4(int src, int dst, int protocol, int ttl, int id, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(IP_HEADER + payload.length);
        b.put((byte) 0x45).put((byte) 0).putShort((short) (IP_HEADER + payload.length)).putShort((short) id)
                .putShort((short) 0).put((byte) ttl).put((byte) protocol).putShort((short) 0).putInt(src).putInt(dst)
                .put(payload);
        byte[] a = b.array();
        int sum = checksum(a, 0, IP_HEADER, 0);
        a[10] = (byte) (sum >>> 8);
        a[11] = (byte) sum;
        return a;
    }

    /** A UDP datagram (header and payload) with its checksum over the pseudo-header of {@code src}/{@code dst}. */
    public static byte[] udp(int src, int dst, int sport, int dport, byte[] payload) {
        int len = UDP_HEADER + payload.length;
        ByteBuffer b = ByteBuffer.allocate(len);
        b.putShort((short) sport).putShort((short) dport).putShort((short) len).putShort((short) 0).put(payload);
        byte[] a = b.array();
        int pseudo = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + PROTO_UDP + len;
        int sum = checksum(a, 0, len, pseudo);
        if (sum == 0) sum = 0xffff;
        a[6] = (byte) (sum >>> 8);
        a[7] = (byte) sum;
        return a;
    }

    /** A UDP/IPv4 packet. */
    public static byte[] udpPacket(int src, int dst, int sport, int dport, byte[] payload) {
        return ipv4(src, dst, PROTO_UDP, udp(src, dst, sport, dport, payload));
    }

    /** An ICMP echo request (type 8). */
    public static byte[] icmpEcho(int id, int seq, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(8 + data.length);
        b.put((byte) 8).put((byte) 0).putShort((short) 0).putShort((short) id).putShort((short) seq).put(data);
        byte[] a = b.array();
        int sum = checksum(a, 0, a.length, 0);
        a[2] = (byte) (sum >>> 8);
        a[3] = (byte) sum;
        return a;
    }

    /** The Internet checksum of {@code b[off, off+len)} plus {@code initial} (RFC 1071). */
    public static int checksum(byte[] b, int off, int len, int initial) {
        long sum = initial;
        for (int i = 0; i + 1 < len; i += 2) sum += ((b[off + i] & 0xff) << 8) | (b[off + i + 1] & 0xff);
        if ((len & 1) != 0) sum += (b[off + len - 1] & 0xff) << 8;
        while ((sum >>> 16) != 0) sum = (sum & 0xffff) + (sum >>> 16);
        return (int) (~sum & 0xffff);
    }

    // ---- reading ----

    public static int u16(byte[] b, int off) { return ((b[off] & 0xff) << 8) | (b[off + 1] & 0xff); }

    public static int u32(byte[] b, int off) { return (u16(b, off) << 16) | u16(b, off + 2); }

    public static long mac(byte[] b, int off) { return ((long) u16(b, off) << 32) | (u32(b, off + 2) & 0xffffffffL); }

    public static int etherType(byte[] frame) { return u16(frame, 12); }

    public static long etherDst(byte[] frame) { return mac(frame, 0); }

    public static long etherSrc(byte[] frame) { return mac(frame, 6); }

    /** The frame without its Ethernet header. */
    public static byte[] etherPayload(byte[] frame) { return Arrays.copyOfRange(frame, ETHER_HEADER, frame.length); }

    public static int ipHeaderLength(byte[] ip) { return (ip[0] & 0x0f) * 4; }

    public static int ipProtocol(byte[] ip) { return ip[9] & 0xff; }

    public static int ipTtl(byte[] ip) { return ip[8] & 0xff; }

    public static int ipSrc(byte[] ip) { return u32(ip, 12); }

    public static int ipDst(byte[] ip) { return u32(ip, 16); }

    public static int ipTotalLength(byte[] ip) { return u16(ip, 2); }

    /** Whether the IPv4 header checksum is right. */
    public static boolean ipChecksumValid(byte[] ip) { return checksum(ip, 0, ipHeaderLength(ip), 0) == 0; }

    public static int udpSrcPort(byte[] ip) { return u16(ip, ipHeaderLength(ip)); }

    public static int udpDstPort(byte[] ip) { return u16(ip, ipHeaderLength(ip) + 2); }

    /** The UDP payload of an IPv4 packet. */
    public static byte[] udpPayload(byte[] ip) {
        int u = ipHeaderLength(ip);
        return Arrays.copyOfRange(ip, u + UDP_HEADER, u + u16(ip, u + 4));
    }

    /** The dotted-quad form of an address. */
    public static String format(int a) {
        return (a >>> 24) + "." + ((a >>> 16) & 0xff) + "." + ((a >>> 8) & 0xff) + "." + (a & 0xff);
    }
}
