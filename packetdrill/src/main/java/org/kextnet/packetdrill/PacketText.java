package org.kextnet.packetdrill;

/** One-line descriptions of IPv4 packets for the shim's {@code verbose} log ("192.0.2.1:53 > 192.168.0.1:8080 udp 10"). */
final class PacketText {
    private PacketText() {}

    static String describe(byte[] p) {
        if (p.length < 20 || (p[0] & 0xf0) != 0x40) return p.length + " bytes, not IPv4";
        int hl = (p[0] & 0x0f) * 4;
        int proto = p[9] & 0xff;
        String src = address(p, 12), dst = address(p, 16);
        int total = u16(p, 2);
        if (hl < 20 || p.length < hl + 4) return src + " > " + dst + " proto " + proto + " len " + total;
        return switch (proto) {
            case 17 -> src + ":" + u16(p, hl) + " > " + dst + ":" + u16(p, hl + 2) + " udp " + (u16(p, hl + 4) - 8);
            case 6 -> src + ":" + u16(p, hl) + " > " + dst + ":" + u16(p, hl + 2) + " tcp len " + total;
            case 1 -> src + " > " + dst + " icmp type " + (p[hl] & 0xff) + " code " + (p[hl + 1] & 0xff) + " len " + total;
            default -> src + " > " + dst + " proto " + proto + " len " + total;
        };
    }

    private static int u16(byte[] p, int at) { return (p[at] & 0xff) << 8 | (p[at + 1] & 0xff); }

    private static String address(byte[] p, int at) {
        return (p[at] & 0xff) + "." + (p[at + 1] & 0xff) + "." + (p[at + 2] & 0xff) + "." + (p[at + 3] & 0xff);
    }
}
