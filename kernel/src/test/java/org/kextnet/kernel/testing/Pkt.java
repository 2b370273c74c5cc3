package org.kextnet.kernel.testing;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A test-side packet template: Ethernet + IPv4 + (UDP | ICMP | raw bytes), built into the bytes of a frame.
 * Every field has a sensible default (a datagram from {@link TestNet#PEER_IP} to {@link TestNet#OUR_IP} on
 * the first link) and a {@code with…} override that returns a new template, so tests state only what
 * they change. Lengths and checksums are computed unless a test overrides them.
 *
 * <p>It deliberately shares no code with the kernel's header views and checksum: a bug there cannot hide
 * itself by building the packets it is tested with.
 */
public final class Pkt implements Cloneable {
    public static final int AUTO = -1;
    public static final int ETH_IPV4 = 0x0800, ETH_ARP = 0x0806;
    public static final int ICMP = 1, UDP = 17;
    public static final int DF = 0x4000, MF = 0x2000;

    private enum Kind { UDP, ICMP, RAW }

    // link
    private boolean ethernet = true;
    private long ethDst = TestNet.OUR_MAC, ethSrc = TestNet.PEER_MAC;
    private int ethType = ETH_IPV4;
    // IPv4
    private int version = 4, ihl = AUTO, tos, totalLength = AUTO, id = 1, frag, ttl = 64, protocol = AUTO, ipChecksum = AUTO;
    private int src = TestNet.PEER_IP, dst = TestNet.OUR_IP;
    private byte[] options = new byte[0];
    // transport
    private Kind kind = Kind.UDP;
    private int srcPort = 5000, dstPort = 7, udpLength = AUTO, l4Checksum = AUTO;
    private int icmpType = 8, icmpCode, icmpRest;
    private byte[] payload = new byte[0];
    // frame
    private int truncateTo = AUTO, padding;

    private Pkt() {}

    /** A UDP datagram from the peer's port {@code srcPort} to our {@code dstPort}. */
    public static Pkt udp(int srcPort, int dstPort, byte[] payload) {
        Pkt p = new Pkt();
        p.srcPort = srcPort;
        p.dstPort = dstPort;
        p.payload = payload.clone();
        return p;
    }

    public static Pkt udp(int srcPort, int dstPort, String payload) {
        return udp(srcPort, dstPort, payload.getBytes(StandardCharsets.US_ASCII));
    }

    /** An ICMP echo request (type 8). */
    public static Pkt echo(int id, int seq, byte[] data) {
        return icmp(8, 0, id << 16 | seq, data);
    }

    /** Any ICMP message; {@code rest} is the second header word (id/seq, next-hop MTU, unused). */
    public static Pkt icmp(int type, int code, int rest, byte[] data) {
        Pkt p = new Pkt();
        p.kind = Kind.ICMP;
        p.icmpType = type;
        p.icmpCode = code;
        p.icmpRest = rest;
        p.payload = data.clone();
        return p;
    }

    /** An IPv4 packet of {@code protocol} carrying {@code l4} as it is. */
    public static Pkt raw(int protocol, byte[] l4) {
        Pkt p = new Pkt();
        p.kind = Kind.RAW;
        p.protocol = protocol;
        p.payload = l4.clone();
        return p;
    }

    /** Bytes 0, 1, 2, ... (mod 256), handy as a recognisable payload. */
    public static byte[] counting(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) i;
        return b;
    }

    // ---- overrides ----
    private Pkt copy() {
        try {
            return (Pkt) clone();
        } catch (CloneNotSupportedException e) {
            throw new AssertionError(e);
        }
    }

    /** Without an Ethernet header: the IP packet alone (TUN, loopback). */
    public Pkt withoutEthernet() { Pkt p = copy(); p.ethernet = false; return p; }
    public Pkt withEthDst(long mac) { Pkt p = copy(); p.ethDst = mac; return p; }
    public Pkt withEthSrc(long mac) { Pkt p = copy(); p.ethSrc = mac; return p; }
    public Pkt withEthType(int type) { Pkt p = copy(); p.ethType = type; return p; }
    public Pkt withVersion(int v) { Pkt p = copy(); p.version = v; return p; }
    /** The header length field in 32-bit words, whatever the options. */
    public Pkt withIhl(int words) { Pkt p = copy(); p.ihl = words; return p; }
    public Pkt withTos(int v) { Pkt p = copy(); p.tos = v; return p; }
    public Pkt withTotalLength(int v) { Pkt p = copy(); p.totalLength = v; return p; }
    public Pkt withId(int v) { Pkt p = copy(); p.id = v; return p; }
    /** Flags and fragment offset as on the wire ({@link #DF}, {@link #MF}, offset in 8-byte units). */
    public Pkt withFrag(int v) { Pkt p = copy(); p.frag = v; return p; }
    public Pkt withTtl(int v) { Pkt p = copy(); p.ttl = v; return p; }
    public Pkt withProtocol(int v) { Pkt p = copy(); p.protocol = v; return p; }
    public Pkt withIpChecksum(int v) { Pkt p = copy(); p.ipChecksum = v; return p; }
    public Pkt withSrc(int a) { Pkt p = copy(); p.src = a; return p; }
    public Pkt withDst(int a) { Pkt p = copy(); p.dst = a; return p; }
    /** IP options, padded with end-of-list bytes to a multiple of 4. */
    public Pkt withOptions(int... bytes) {
        Pkt p = copy();
        byte[] o = new byte[(bytes.length + 3) & ~3];
        for (int i = 0; i < bytes.length; i++) o[i] = (byte) bytes[i];
        p.options = o;
        return p;
    }
    public Pkt withSrcPort(int v) { Pkt p = copy(); p.srcPort = v; return p; }
    public Pkt withDstPort(int v) { Pkt p = copy(); p.dstPort = v; return p; }
    public Pkt withUdpLength(int v) { Pkt p = copy(); p.udpLength = v; return p; }
    /** The UDP or ICMP checksum field; 0 on UDP means "no checksum". */
    public Pkt withL4Checksum(int v) { Pkt p = copy(); p.l4Checksum = v; return p; }
    public Pkt withPayload(byte[] b) { Pkt p = copy(); p.payload = b.clone(); return p; }
    /** Cuts the finished frame to {@code n} bytes (a truncated capture). */
    public Pkt truncatedTo(int n) { Pkt p = copy(); p.truncateTo = n; return p; }
    /** Appends {@code n} zero bytes after the IP packet (Ethernet padding). */
    public Pkt withPadding(int n) { Pkt p = copy(); p.padding = n; return p; }

    /**
     * One fragment of this datagram: bytes {@code [offset, offset + length)} of its IP payload (computed
     * with this datagram's transport checksum) with the matching offset and MF flag.
     */
    public Pkt fragment(int offset, int length, boolean more) {
        byte[] l4 = l4();
        Pkt p = copy();
        p.kind = Kind.RAW;
        p.protocol = protocolNumber();
        p.payload = Arrays.copyOfRange(l4, offset, offset + length);
        p.frag = (frag & DF) | (more ? MF : 0) | (offset >>> 3);
        return p;
    }

    // ---- building ----
    public int src() { return src; }
    public int dst() { return dst; }
    public int id() { return id; }

    /** The IP payload (transport header and data) with its checksum. */
    public byte[] l4() {
        return switch (kind) {
            case RAW -> payload.clone();
            case UDP -> {
                int len = 8 + payload.length;
                ByteBuffer b = ByteBuffer.allocate(len);
                b.putShort((short) srcPort).putShort((short) dstPort)
                        .putShort((short) (udpLength == AUTO ? len : udpLength)).putShort((short) 0).put(payload);
                byte[] a = b.array();
                int sum = l4Checksum;
                if (sum == AUTO) {
                    // Over the datagram as its length field delimits it, as a receiver checks it.
                    int ulen = udpLength == AUTO ? len : udpLength;
                    sum = checksum(a, 0, Math.min(ulen, len), pseudoHeader(src, dst, UDP, ulen));
                    if (sum == 0) sum = 0xffff;
                }
                a[6] = (byte) (sum >>> 8);
                a[7] = (byte) sum;
                yield a;
            }
            case ICMP -> {
                ByteBuffer b = ByteBuffer.allocate(8 + payload.length);
                b.put((byte) icmpType).put((byte) icmpCode).putShort((short) 0).putInt(icmpRest).put(payload);
                byte[] a = b.array();
                int sum = l4Checksum == AUTO ? checksum(a, 0, a.length, 0) : l4Checksum;
                a[2] = (byte) (sum >>> 8);
                a[3] = (byte) sum;
                yield a;
            }
        };
    }

    private int protocolNumber() {
        if (protocol != AUTO) return protocol;
        return kind == Kind.ICMP ? ICMP : UDP;
    }

    /** The IPv4 packet (no link header, no padding, not truncated). */
    public byte[] ipBytes() {
        byte[] l4 = l4();
        int hl = 20 + options.length;
        ByteBuffer b = ByteBuffer.allocate(hl + l4.length);
        b.put((byte) (version << 4 | (ihl == AUTO ? hl / 4 : ihl)))
                .put((byte) tos)
                .putShort((short) (totalLength == AUTO ? hl + l4.length : totalLength))
                .putShort((short) id).putShort((short) frag)
                .put((byte) ttl).put((byte) protocolNumber()).putShort((short) 0)
                .putInt(src).putInt(dst).put(options).put(l4);
        byte[] a = b.array();
        int sum = ipChecksum == AUTO ? checksum(a, 0, hl, 0) : ipChecksum;
        a[10] = (byte) (sum >>> 8);
        a[11] = (byte) sum;
        return a;
    }

    /** The frame as it goes on the wire. */
    public byte[] bytes() {
        byte[] ip = ipBytes();
        byte[] frame;
        if (ethernet) {
            frame = Arrays.copyOf(ethernet(ethDst, ethSrc, ethType, ip), 14 + ip.length + padding);
        } else {
            frame = Arrays.copyOf(ip, ip.length + padding);
        }
        return truncateTo == AUTO ? frame : Arrays.copyOf(frame, truncateTo);
    }

    /** An Ethernet II frame carrying {@code payload} as it is (any EtherType). */
    public static byte[] ethernet(long ethDst, long ethSrc, int type, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(14 + payload.length);
        b.putShort((short) (ethDst >>> 32)).putInt((int) ethDst).putShort((short) (ethSrc >>> 32)).putInt((int) ethSrc)
                .putShort((short) type).put(payload);
        return b.array();
    }

    /** An Ethernet frame holding an ARP packet for IPv4 (RFC 826). */
    public static byte[] arp(long ethDst, long ethSrc, int op, long sha, int spa, long tha, int tpa) {
        ByteBuffer b = ByteBuffer.allocate(14 + 28);
        b.putShort((short) (ethDst >>> 32)).putInt((int) ethDst).putShort((short) (ethSrc >>> 32)).putInt((int) ethSrc)
                .putShort((short) ETH_ARP)
                .putShort((short) 1).putShort((short) 0x0800).put((byte) 6).put((byte) 4).putShort((short) op)
                .putShort((short) (sha >>> 32)).putInt((int) sha).putInt(spa)
                .putShort((short) (tha >>> 32)).putInt((int) tha).putInt(tpa);
        return b.array();
    }

    // ---- RFC 1071, byte by byte: slow and obviously right ----
    public static long pseudoHeader(int src, int dst, int protocol, int length) {
        return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
    }

    /** The Internet checksum of {@code b[off, off+len)} with {@code initial} added; 0 over a correct range. */
    public static int checksum(byte[] b, int off, int len, long initial) {
        long sum = initial;
        for (int i = 0; i < len; i += 2) {
            int hi = b[off + i] & 0xff;
            int lo = i + 1 < len ? b[off + i + 1] & 0xff : 0;
            sum += hi << 8 | lo;
        }
        while ((sum >>> 16) != 0) sum = (sum & 0xffff) + (sum >>> 16);
        return (int) ~sum & 0xffff;
    }
}
