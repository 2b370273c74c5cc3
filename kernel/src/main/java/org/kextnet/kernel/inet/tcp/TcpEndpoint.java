package org.kextnet.kernel.inet.tcp;

import org.kextnet.kernel.wire.Ipv4;

/**
 * One end of a connection: an address and a port. Addresses are 128 bits in two longs (high and low
 * half, network order), IPv4 as IPv4-mapped IPv6 ({@code ::ffff:a.b.c.d}, RFC 4291 2.5.5.2), so that one TCP
 * serves both families and the packet path carries addresses in four longs without allocating. This
 * record is for the requests (connect, bind, listen) and listings, not the packet path.
 *
 * @param high the address's high 64 bits
 * @param low  the address's low 64 bits
 * @param port 0..65535 (0: any)
 */
public record TcpEndpoint(long high, long low, int port) {
    /** The low half of an IPv4-mapped address without its IPv4 part. */
    public static final long V4_MAPPED = 0x0000_ffff_0000_0000L;

    public TcpEndpoint {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port " + port);
    }

    /** An IPv4 endpoint; address 0 is the IPv4 wildcard. */
    public static TcpEndpoint ipv4(int address, int port) { return new TcpEndpoint(0, v4(address), port); }

    /** An IPv4 endpoint from a dotted quad. */
    public static TcpEndpoint ipv4(String address, int port) { return ipv4(Ipv4.parse(address), port); }

    /** The low half of the IPv4-mapped form of {@code address}. */
    public static long v4(int address) { return V4_MAPPED | address & 0xffff_ffffL; }

    /** Whether (high, low) is an IPv4-mapped address. */
    public static boolean isV4(long high, long low) { return high == 0 && (low & 0xffff_ffff_0000_0000L) == V4_MAPPED; }

    /** Whether (high, low) means "any address": {@code ::} or {@code 0.0.0.0}. */
    public static boolean isWildcard(long high, long low) { return high == 0 && (low == 0 || low == V4_MAPPED); }

    /** The network header in front of TCP: 20 bytes for IPv4, 40 for IPv6 (no options, no extension headers). */
    public static int networkHeader(long high, long low) { return isV4(high, low) ? Ipv4.MIN_HEADER : 40; }

    public boolean isIpv4() { return isV4(high, low); }
    public boolean isWildcard() { return isWildcard(high, low); }
    /** The IPv4 address (meaningful when {@link #isIpv4()}). */
    public int ipv4() { return (int) low; }
    public TcpEndpoint withPort(int p) { return new TcpEndpoint(high, low, p); }

    /** The address as text: dotted quad for IPv4, RFC 5952 hex groups otherwise. */
    public static String formatAddress(long high, long low) {
        if (isV4(high, low)) return Ipv4.format((int) low);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            long half = i < 4 ? high : low;
            int group = (int) (half >>> (48 - 16 * (i & 3))) & 0xffff;
            if (i > 0) b.append(':');
            b.append(Integer.toHexString(group));
        }
        return b.toString();
    }

    @Override public String toString() {
        String a = formatAddress(high, low);
        return (isIpv4() ? a : "[" + a + "]") + ":" + port;
    }
}
