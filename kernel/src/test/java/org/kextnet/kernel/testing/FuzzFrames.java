package org.kextnet.kernel.testing;

import java.nio.ByteBuffer;

/**
 * Turns fuzzed bytes into frames the stack gets past its first checks with: an Ethernet header for the
 * link, and on request a correct IPv4 total length, header checksum or transport checksum. A fuzzer
 * would otherwise spend its time on checksums instead of on what lies behind them.
 */
public final class FuzzFrames {
    private FuzzFrames() {}

    public static byte[] ethernet(int link, boolean broadcast, int type, byte[] payload) {
        long dst = broadcast ? 0xffff_ffff_ffffL : (link == 0 ? TestNet.OUR_MAC : TestNet.OUR_MAC1);
        long src = link == 0 ? TestNet.PEER_MAC : TestNet.PEER_MAC1;
        return ByteBuffer.allocate(14 + payload.length).putShort((short) (dst >>> 32)).putInt((int) dst)
                .putShort((short) (src >>> 32)).putInt((int) src).putShort((short) type).put(payload).array();
    }

    /** Sets the total length to the bytes there are (if a header's worth). */
    public static void fixTotalLength(byte[] ip) {
        if (ip.length < 4) return;
        ip[2] = (byte) (ip.length >>> 8);
        ip[3] = (byte) ip.length;
    }

    /** Fills the header checksum when the header length field fits the bytes there are. */
    public static void fixHeaderChecksum(byte[] ip) {
        if (ip.length < 20) return;
        int hl = (ip[0] & 0xf) * 4;
        if (hl < 20 || hl > ip.length) return;
        ip[10] = ip[11] = 0;
        int sum = Pkt.checksum(ip, 0, hl, 0);
        ip[10] = (byte) (sum >>> 8);
        ip[11] = (byte) sum;
    }

    /** Fills an ICMP checksum over the whole message. */
    public static void fixIcmpChecksum(byte[] icmp) {
        if (icmp.length < 4) return;
        icmp[2] = icmp[3] = 0;
        int sum = Pkt.checksum(icmp, 0, icmp.length, 0);
        icmp[2] = (byte) (sum >>> 8);
        icmp[3] = (byte) sum;
    }

    /** Sets the UDP length to the bytes there are and fills the checksum for {@code src -> dst}. */
    public static void fixUdp(byte[] udp, int src, int dst) {
        if (udp.length < 8) return;
        udp[4] = (byte) (udp.length >>> 8);
        udp[5] = (byte) udp.length;
        udp[6] = udp[7] = 0;
        int sum = Pkt.checksum(udp, 0, udp.length, Pkt.pseudoHeader(src, dst, Pkt.UDP, udp.length));
        if (sum == 0) sum = 0xffff;
        udp[6] = (byte) (sum >>> 8);
        udp[7] = (byte) sum;
    }
}
