package org.kextnet.kpi.socket;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * A socket address passed to socket-filter callbacks ({@code struct sockaddr}). The kernel reuses these
 * objects: one passed to a callback is valid only during the call ({@link #copy} it to keep it). Callbacks
 * documented as "may modify" (getpeername, getsockname) may change it in place.
 */
public interface SockAddr {
    /** {@link org.kextnet.kpi.net.ProtocolFamily#PF_INET}, or another family. */
    int family();

    /** The port, or 0. */
    int port();

    void setPort(int port);

    /** The IPv4 address as an int (big-endian order of the dotted quad), for family PF_INET. */
    int ipv4();

    void setIpv4(int address);

    /** An immutable copy as a JDK address (allocates). */
    default InetSocketAddress toInetSocketAddress() {
        int a = ipv4();
        try {
            InetAddress ia = InetAddress.getByAddress(new byte[] {(byte) (a >>> 24), (byte) (a >>> 16), (byte) (a >>> 8), (byte) a});
            return new InetSocketAddress(ia, port());
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // cannot happen for 4 bytes
        }
    }

    /** A detached copy that stays valid after the call. */
    default SockAddr copy() { return of(ipv4(), port()); }

    /** A new IPv4 address. */
    static SockAddr of(int ipv4, int port) { return new Inet4SockAddr(ipv4, port); }

    /** A new IPv4 address from a JDK one. */
    static SockAddr of(InetSocketAddress a) {
        if (!(a.getAddress() instanceof Inet4Address v4)) throw new IllegalArgumentException("not IPv4: " + a);
        byte[] b = v4.getAddress();
        return of(((b[0] & 0xff) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff), a.getPort());
    }

    /** A plain mutable IPv4 socket address. */
    final class Inet4SockAddr implements SockAddr {
        private int ipv4;
        private int port;

        public Inet4SockAddr(int ipv4, int port) {
            this.ipv4 = ipv4;
            this.port = port;
        }

        @Override public int family() { return org.kextnet.kpi.net.ProtocolFamily.PF_INET; }
        @Override public int port() { return port; }
        @Override public void setPort(int p) { port = p; }
        @Override public int ipv4() { return ipv4; }
        @Override public void setIpv4(int a) { ipv4 = a; }

        @Override public boolean equals(Object o) { return o instanceof Inet4SockAddr s && s.ipv4 == ipv4 && s.port == port; }
        @Override public int hashCode() { return ipv4 * 31 + port; }
        @Override public String toString() {
            return (ipv4 >>> 24) + "." + ((ipv4 >>> 16) & 0xff) + "." + ((ipv4 >>> 8) & 0xff) + "." + (ipv4 & 0xff) + ":" + port;
        }
    }
}
