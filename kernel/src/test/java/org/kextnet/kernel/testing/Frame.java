package org.kextnet.kernel.testing;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * A frame the stack sent, as the peer reads it: field getters for Ethernet, ARP, IPv4, ICMP and UDP that
 * assume nothing about the frame's validity beyond what the test asserts. Independent of the kernel's views.
 */
public record Frame(byte[] bytes, boolean ethernet) {
    public Frame(byte[] bytes) { this(bytes, true); }

    /** An IP packet without a link header (what a TUN link carries, what a harness's {@code readOutboundIp} returns). */
    public static Frame ofIp(byte[] packet) { return new Frame(packet, false); }

    private ByteBuffer buf() { return ByteBuffer.wrap(bytes); }
    private int u8(int at) { return bytes[at] & 0xff; }
    private int u16(int at) { return buf().getShort(at) & 0xffff; }
    private int u32(int at) { return buf().getInt(at); }
    private long mac(int at) { return ((long) u16(at) << 32) | (u32(at + 2) & 0xffffffffL); }

    public int length() { return bytes.length; }

    // ---- Ethernet ----
    public long ethDst() { return mac(0); }
    public long ethSrc() { return mac(6); }
    public int ethType() { return u16(12); }

    // ---- ARP (after the Ethernet header) ----
    public int arpOp() { return u16(14 + 6); }
    public long arpSenderMac() { return mac(14 + 8); }
    public int arpSenderIp() { return u32(14 + 14); }
    public long arpTargetMac() { return mac(14 + 18); }
    public int arpTargetIp() { return u32(14 + 24); }

    // ---- IPv4 ----
    public int ip() { return ethernet ? 14 : 0; }
    public int ipHeaderLength() { return (u8(ip()) & 0xf) * 4; }
    public int version() { return u8(ip()) >>> 4; }
    public int totalLength() { return u16(ip() + 2); }
    public int ipId() { return u16(ip() + 4); }
    public int frag() { return u16(ip() + 6); }
    public int fragOffset() { return (frag() & 0x1fff) * 8; }
    public boolean moreFragments() { return (frag() & Pkt.MF) != 0; }
    public boolean dontFragment() { return (frag() & Pkt.DF) != 0; }
    public int ttl() { return u8(ip() + 8); }
    public int protocol() { return u8(ip() + 9); }
    public int ipChecksum() { return u16(ip() + 10); }
    public int src() { return u32(ip() + 12); }
    public int dst() { return u32(ip() + 16); }
    public boolean ipChecksumOk() { return Pkt.checksum(bytes, ip(), ipHeaderLength(), 0) == 0; }
    /** The IP packet, without link header or padding. */
    public byte[] ipBytes() { return Arrays.copyOfRange(bytes, ip(), ip() + totalLength()); }
    /** The IP payload as the total length delimits it. */
    public byte[] l4Bytes() { return Arrays.copyOfRange(bytes, l4(), ip() + totalLength()); }

    // ---- transport ----
    public int l4() { return ip() + ipHeaderLength(); }
    public int icmpType() { return u8(l4()); }
    public int icmpCode() { return u8(l4() + 1); }
    public int icmpId() { return u16(l4() + 4); }
    public int icmpSeq() { return u16(l4() + 6); }
    public int icmpNextHopMtu() { return u16(l4() + 6); }
    public boolean icmpChecksumOk() { return Pkt.checksum(bytes, l4(), totalLength() - ipHeaderLength(), 0) == 0; }
    /** What an ICMP error quotes: the offending packet's header and first bytes. */
    public Frame icmpQuote() { return new Frame(Arrays.copyOfRange(bytes, l4() + 8, ip() + totalLength()), false); }
    public byte[] icmpData() { return Arrays.copyOfRange(bytes, l4() + 8, ip() + totalLength()); }

    public int udpSrcPort() { return u16(l4()); }
    public int udpDstPort() { return u16(l4() + 2); }
    public int udpLength() { return u16(l4() + 4); }
    public boolean udpChecksumOk() {
        int len = udpLength();
        return u16(l4() + 6) == 0 || Pkt.checksum(bytes, l4(), len, Pkt.pseudoHeader(src(), dst(), Pkt.UDP, len)) == 0;
    }
    public byte[] udpPayload() { return Arrays.copyOfRange(bytes, l4() + 8, l4() + udpLength()); }
}
